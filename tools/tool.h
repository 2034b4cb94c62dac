// Tool: what the dispatcher in core/ invokes. Tools know nothing about models or the GLM-4 wire syntax:
// core/protocol turns the model's `{name}\n{body}` into JSON arguments, the tool returns observations, and
// core/protocol renders them back into `<|observation|>{metadata}\n{text}`.
//
// Arguments of the built-in tools (produced by core/protocol's body parser, or by a remote chat backend):
//   python          {"code": "<source>"}
//   simple_browser  {"calls": [{"fn": "search", "query": "...", "recency_days": 7},   // recency_days optional
//                              {"fn": "mclick", "ids": [1, 4]},
//                              {"fn": "open_url", "url": "https://..."}]}
//   cogview         {"prompt": "<english description>"}
//   user functions  the JSON object the model wrote, unvalidated (the function tool validates it against its schema)
//
// Contract: invoke() never throws and never aborts on bad arguments or a failing backend: every failure is an
// Observation with is_error = true and a text the model can act on. Each instance belongs to one session (it may
// keep per-session state: interpreter, page lists); invoke() is called from one thread at a time per instance.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace alltools::tools {

// A file a tool produced for the user (a plot, a generated image, a downloaded file).
struct Artifact {
  std::filesystem::path path;  // inside the session folder
  std::string mime;            // "image/png", ...
  std::string url;             // where it came from, if remote; may be empty
  friend bool operator==(const Artifact&, const Artifact&) = default;
};

// One `<|observation|>{metadata}\n{text}` message (see the table in glm4-protocol.md §4).
struct Observation {
  std::string metadata;  // "", "browser_result", "quote_result [3†source]", "cogview_result", "system_error"
  std::string text;
  std::vector<Artifact> artifacts;
  bool is_error = false;
  friend bool operator==(const Observation&, const Observation&) = default;
};

// Describes a tool for the system prompt. Built-ins (python, simple_browser, cogview) are rendered with the
// verbatim texts in prompts/; a user function is rendered from `function` =
// {"name": ..., "description": ..., "parameters": {JSON schema}} with its key order kept.
struct ToolSpec {
  enum class Kind { kBuiltin, kFunction };
  std::string name;
  Kind kind = Kind::kFunction;
  nlohmann::ordered_json function;  // only for kFunction
};

struct ToolContext {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  const std::atomic<bool>* cancel = nullptr;  // set from another thread to abandon the call
  std::filesystem::path session_dir;          // the session's folder; files for the user go under it
  // Optional progress lines for the user (e.g. "fetching 3 pages"); never shown to the model.
  std::function<void(const std::string&)> progress;

  bool cancelled() const { return cancel != nullptr && cancel->load(std::memory_order_relaxed); }
  bool expired() const { return std::chrono::steady_clock::now() >= deadline; }
};

class Tool {
 public:
  virtual ~Tool() = default;
  virtual const ToolSpec& spec() const = 0;
  virtual std::vector<Observation> invoke(const nlohmann::json& args, const ToolContext& ctx) = 0;
};

// Convenience for tools: a single error observation.
inline Observation error_observation(std::string text, std::string metadata = "") {
  Observation o;
  o.metadata = std::move(metadata);
  o.text = std::move(text);
  o.is_error = true;
  return o;
}

}  // namespace alltools::tools
