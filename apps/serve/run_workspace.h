// The workspace of one server-side All Tools run: a folder of its own under the server's workspace root and the
// tools the policy enables (its own python sandbox, browser, image tool) working in it. Destroying it stops the
// sandbox and removes the folder. live_workspaces() counts those alive (for /health and the leak checks).
#pragma once

#include <filesystem>
#include <memory>

#include "apps/runtime/wiring.h"
#include "apps/serve/server.h"

namespace alltools::serve {

// Errors: the folder cannot be created, a tool fails to build.
Result<std::unique_ptr<RunWorkspace>> make_run_workspace(const app::AgentFlags& flags, const policies::Policy& policy,
                                                         const std::filesystem::path& root,
                                                         const std::shared_ptr<const model::Tokenizer>& tokenizer);

int live_workspaces();

}  // namespace alltools::serve
