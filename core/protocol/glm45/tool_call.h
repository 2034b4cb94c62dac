// GLM-4.5/4.6 tool calls:
// `<tool_call>{name}\n<arg_key>{k}</arg_key>\n<arg_value>{v}</arg_value>\n…</tool_call>` (facts from the
// published template, zai-org/GLM-4.5 chat_template.jinja; see tests/protocol/glm45_golden_test.cc). A call
// is the Message {assistant, metadata = name, content = body}; the body is the canonical text between the
// name and </tool_call>, exactly what the template writes for the call's arguments:
//   "\n" then, per argument in order, "<arg_key>{k}</arg_key>\n<arg_value>{v}</arg_value>\n"
// where a string value is written raw and any other value as Python's json.dumps(v, ensure_ascii=False).
// Reading a value back needs the tool's schema: a "string" parameter is the raw text; otherwise the text is
// parsed as JSON and, if that fails, kept as a string (the rule vLLM's and SGLang's glm45 parsers follow).
// All functions are pure: no effect on failure; errors are written for the model (kParse, kNotFound).
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "core/protocol/glm4/tool_call.h"
#include "tools/tool.h"

namespace alltools::protocol::glm45 {

struct ArgPair {
  std::string key;    // trimmed of surrounding whitespace
  std::string value;  // raw text between <arg_value> and </arg_value>
  friend bool operator==(const ArgPair&, const ArgPair&) = default;
};

// Pairs in `text` (whitespace allowed between tags, nothing else). Fails (kParse) on anything else, an
// unterminated tag, an empty or duplicate key, or more than glm4::kMaxToolBodyBytes.
Result<std::vector<ArgPair>> try_parse_arg_pairs(std::string_view text);
// The canonical body of these pairs.
std::string format_arg_pairs(std::span<const ArgPair> pairs);

// Python's json.dumps(value, ensure_ascii=False): ", " and ": " separators, key order kept, non-ASCII raw.
std::string python_json_dumps(const nlohmann::ordered_json& value);

// Body -> arguments object; `parameters` is the tool's JSON schema (properties' "type" decides strings).
Result<nlohmann::ordered_json> arguments_from_body(std::string_view body,
                                                   const nlohmann::ordered_json& parameters);
// Arguments object -> canonical body. Fails (kInvalidArgument) if `arguments` is not an object.
Result<std::string> body_from_arguments(const nlohmann::ordered_json& arguments);

// The arguments of `call` for the Tool interface: the name must be one of `tools`, the body canonical pairs.
Result<nlohmann::json> tool_call_arguments(const glm4::ToolCall& call,
                                           std::span<const tools::ToolSpec> tools);

}  // namespace alltools::protocol::glm45
