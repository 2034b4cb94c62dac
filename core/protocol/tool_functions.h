// Tools as OpenAI-style function descriptions, {"type": "function", "function": {"name", "description",
// "parameters"}}: what a chat API's `tools` field and GLM-4.5's <tools> system block list. A user function is
// its own ToolSpec::function (key order kept); the built-ins (python, simple_browser, cogview) get a schema
// for the same JSON arguments core/protocol/glm4 produces from GLM-4 bodies (tools/tool.h).
#pragma once

#include <nlohmann/json.hpp>

#include "tools/tool.h"

namespace alltools::protocol {

nlohmann::ordered_json tool_function(const tools::ToolSpec& spec);

// The "parameters" schema of `spec` (an object schema; empty object if the spec has none).
nlohmann::ordered_json tool_parameters(const tools::ToolSpec& spec);

}  // namespace alltools::protocol
