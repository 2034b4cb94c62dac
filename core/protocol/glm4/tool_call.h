// Tool calls in GLM-4's wire format, `<|assistant|>{name}\n{body}`, and their conversion to the JSON arguments
// of the Tool interface (tools/tool.h), both ways. Body grammars (../shared/docs/glm4-protocol.md §3):
//   python          raw source; one surrounding ```python / ```py / ``` fence is removed  -> {"code": source}
//   simple_browser  one call per non-empty line: search("q", recency_days=7) | mclick([1, 4]) | open_url("u"),
//                   with real string literals ("..." or '...', backslash escapes incl. \uXXXX, commas,
//                   parentheses and any Unicode inside), keyword or positional arguments
//                   -> {"calls": [{"fn": "search", "query": "q", "recency_days": 7}, ...]}
//   cogview         the prompt text, trimmed                                              -> {"prompt": text}
//   user function   one JSON object, surrounding whitespace and one ```json fence allowed -> that object
// All functions are pure: no effect on failure. Failures are Errors (kParse for malformed bodies, kNotFound for
// an unknown tool or browser function, kInvalidArgument for wrong argument types) whose message is written
// for the model; tool_call_error_observation() turns one into the observation the agent loop sends back.
#pragma once

#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "core/protocol/glm4/message.h"
#include "tools/tool.h"

namespace alltools::protocol::glm4 {

struct ToolCall {
  std::string name;
  std::string body;

  // The history message `<|assistant|>{name}\n{body}`.
  Message to_message() const { return assistant_tool_call(name, body); }
  friend bool operator==(const ToolCall&, const ToolCall&) = default;
};
std::ostream& operator<<(std::ostream& os, const ToolCall& call);

// Named limits on what a body parser accepts.
inline constexpr std::size_t kMaxToolBodyBytes = 1 << 20;  // longer bodies are rejected (kOutOfRange)
inline constexpr std::size_t kMaxBrowserCallsPerBody = 32;
inline constexpr int kMaxJsonDepth = 64;

// Arguments for `call` given the tools on offer: the name must be one of `tools` (built-ins by name, user
// functions by name); the body is parsed with the grammar of its kind.
Result<nlohmann::json> tool_call_arguments(const ToolCall& call, std::span<const tools::ToolSpec> tools);

Result<nlohmann::json> parse_python_body(std::string_view body);
Result<nlohmann::json> parse_browser_body(std::string_view body);
// One browser line, e.g. `search("北京 天气, 今天", recency_days=3)` -> {"fn":"search",...}.
Result<nlohmann::json> try_parse_browser_call(std::string_view line);
Result<nlohmann::json> parse_cogview_body(std::string_view body);
Result<nlohmann::json> parse_function_body(std::string_view body);

// The reverse: the body GLM-4 would have written for these arguments (for storing calls that arrive as JSON,
// e.g. from a remote chat backend, into the history). python -> code, simple_browser -> one call per line,
// cogview -> prompt, functions -> compact JSON (ensure_ascii=False). Fails on arguments of the wrong shape.
Result<std::string> format_tool_call_body(std::string_view tool_name, const nlohmann::json& arguments,
                                          tools::ToolSpec::Kind kind);

// The observation that tells the model its call failed: metadata "system_error" for simple_browser (as the
// reference demo does), none otherwise; is_error = true; text names the tool and the problem.
tools::Observation tool_call_error_observation(const ToolCall& call, const Error& error);

}  // namespace alltools::protocol::glm4
