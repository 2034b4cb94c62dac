// Wiring for the agent subcommands (run, chat, tools, serve): flags and config file, the model (local checkpoint,
// remote endpoint, or the embedded default), the policy, the session folder, and the tool set the policy enables.
// This library (apps/runtime) is the one place that assembles a runtime from options: the CLI builds one Runtime
// per process; `alltools serve` builds one shared model and a ToolSet per conversation (own session folder, own
// python sandbox). Only apps/ know concrete tools and backends; core/ sees interfaces.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "core/agent/agent.h"
#include "core/agent/dispatcher.h"
#include "core/agent/session_store.h"
#include "core/protocol/format.h"
#include "model/language_model.h"
#include "model/remote/remote_model.h"
#include "model/tokenizer.h"
#include "policies/policy.h"

namespace alltools::tools::browser {
class BrowserTool;
}
namespace alltools::tools::functions {
class FunctionRegistry;
}

namespace alltools::app {

// Flags shared by `run`, `chat` and `tools`; defaults come from the config file (config_path()), flags win.
struct AgentFlags {
  std::string model_dir;                  // --model DIR
  std::string endpoint;                   // --endpoint URL
  std::string api_key_env;                // --api-key-env VAR
  std::string remote_model;               // --remote-model ID ("model" field sent to the server)
  std::string remote_mode = "completion"; // --remote-mode completion|chat
  std::string tokenizer;                  // --tokenizer PATH (remote mode; default: the embedded model's)
  std::string format;                     // --format glm4|glm45 (used when the model/tokenizer folder has no
                                          // chat template to tell; default glm4)
  bool show_reasoning = false;            // --show-reasoning: stream GLM-4.5's <think> text (to stderr)
  std::string policy_file;                // --policy FILE
  std::string session;                    // --session NAME (resume or create)
  std::string sessions_dir;               // --sessions-dir DIR
  std::vector<std::string> function_manifests;  // --functions FILE (repeatable)
  std::string mcp_config;                 // --mcp FILE
  std::vector<std::string> python_plugins;  // --plugin FILE.py (repeatable; in-process, trusted code)
  std::string search_index;               // --search-index FILE (local BM25 index)
  std::string searxng;                    // --searxng URL
  std::vector<std::string> browser_allow_cidrs;  // --browser-allow-cidr CIDR (e.g. a loopback test site)
  nlohmann::json image_config;            // config file "image" section
  int threads = 0;                        // --threads N (local model)
  std::string device = "cpu";             // --device cpu|cuda (local model)
  int max_tokens = 0;                     // --max-tokens N per step (0 = default)
  float temperature = 0.0f;               // --temperature T
  bool json = false;                      // --json
  bool constrain_tool_names = true;       // --no-tool-constraint turns constrained tool-name decoding off
  bool constrain_arguments = true;        // --no-arg-constraint turns schema-constrained arguments off
  bool quiet = false;                     // --quiet
  bool yes = false;                       // -y / --yes
  bool help = false;
};

// XDG config: $XDG_CONFIG_HOME/alltools/config.json, else ~/.config/alltools/config.json.
std::filesystem::path config_path();

// Parses argv (argv[0] = subcommand). Positional arguments go to `positional`. Errors: unknown flag, missing value.
Result<AgentFlags> parse_agent_flags(int argc, char** argv, std::vector<std::string>* positional);
// The help text of the shared flags.
const char* agent_flags_help();

// <repo>/models/glm4-alltools-tiny when it exists ($ALLTOOLS_HOME, else searched upwards from the executable).
std::optional<std::filesystem::path> embedded_model_dir();

// Everything one agent session needs. Member order = destruction order reversed: tools die before the model.
struct Runtime {
  Runtime();
  ~Runtime();
  policies::Policy policy;
  std::shared_ptr<const model::Tokenizer> tokenizer;
  std::unique_ptr<model::LanguageModel> model;
  std::string model_description;  // "local glm4-alltools-tiny (glm, 4096 vocab)" ...
  protocol::Format format = protocol::Format::kGlm4;  // the prompt format (chat template or --format)
  std::optional<agent::SessionStore> session;
  std::unique_ptr<tools::functions::FunctionRegistry> functions;  // outlives the function tools
  agent::Dispatcher dispatcher;
  tools::browser::BrowserTool* browser = nullptr;  // owned by dispatcher; for citations
  std::vector<std::string> tool_status;           // one line per tool: enabled or why not
};

struct RuntimeParts {
  bool model = true;    // load a model (tools: no)
  bool session = true;  // open a session folder
};

// Where the model comes from: a local checkpoint folder (model_dir; empty for --endpoint) and the tokenizer to
// load (the folder itself, or --tokenizer / the embedded model's for an endpoint).
struct ModelSource {
  std::string model_dir;
  std::string tokenizer;
};
// Errors: kNotFound when no model was named and the embedded one is missing; kInvalidArgument for an endpoint
// without any tokenizer.
Result<ModelSource> model_source(const AgentFlags& flags);
Result<std::shared_ptr<const model::Tokenizer>> load_shared_tokenizer(const std::string& path);

// The prompt format: the chat template of a folder the user named (--model, or --tokenizer with --endpoint)
// decides; else --format; else GLM-4 (the embedded model's). Errors: a named folder's template and a --format that
// disagree (no guess).
Result<protocol::Format> prompt_format(const AgentFlags& flags);

// Options of the remote backend for --endpoint (chat mode maps these tools to the OpenAI tools API; with the
// GLM-4.5 format chat mode also needs the tokenizer to turn prompts back into messages).
// Errors: --api-key-env names an unset variable.
Result<model::RemoteOptions> remote_options(const AgentFlags& flags, std::span<const tools::ToolSpec> tool_specs,
                                            protocol::Format format = protocol::Format::kGlm4,
                                            std::shared_ptr<const model::Tokenizer> tokenizer = nullptr);

// The tools of one conversation, as the policy enables them; files (the python tool's /mnt/data, images) live in
// session_dir. Member order = destruction order reversed: the function tools die before their registry.
struct ToolSet {
  ToolSet();
  ~ToolSet();
  std::unique_ptr<tools::functions::FunctionRegistry> functions;
  agent::Dispatcher dispatcher;
  tools::browser::BrowserTool* browser = nullptr;  // owned by dispatcher
  std::vector<std::string> status;                 // one line per tool: enabled or why not
};
Result<std::unique_ptr<ToolSet>> build_tool_set(const AgentFlags& flags, const policies::Policy& policy,
                                                const std::filesystem::path& session_dir,
                                                const std::shared_ptr<const model::Tokenizer>& tokenizer);

// Builds the runtime. Progress lines go to `log` (stderr) unless null.
Result<std::unique_ptr<Runtime>> build_runtime(const AgentFlags& flags, RuntimeParts parts, std::FILE* log);

// Agent options from the policy and flags (limits, sampling, permission hook); the caller sets the approver.
agent::AgentOptions agent_options(const Runtime& runtime, const AgentFlags& flags);
// The same without a runtime (no session folder set): for `alltools serve`, which builds one per run.
agent::AgentOptions agent_options(const policies::Policy& policy, const AgentFlags& flags);

// The session's earlier conversation (empty for a new session).
Result<std::vector<protocol::glm4::Message>> restored_messages(const Runtime& runtime);

}  // namespace alltools::app
