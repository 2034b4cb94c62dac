#include "core/protocol/glm45/tool_call.h"

#include "core/protocol/tool_functions.h"

namespace alltools::protocol::glm45 {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kKeyOpen = "<arg_key>", kKeyClose = "</arg_key>";
constexpr std::string_view kValueOpen = "<arg_value>", kValueClose = "</arg_value>";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

void skip_space(std::string_view text, std::size_t& i) {
  while (i < text.size() && is_space(text[i])) ++i;
}

Error parse_error(std::string what) {
  return make_error(
      ErrorCode::kParse,
      "the tool call's arguments are not <arg_key>name</arg_key><arg_value>value</arg_value> pairs: " +
          std::move(what));
}

// Whether the schema of property `key` says its value is a string (then the text is taken raw).
bool is_string_parameter(const ordered_json& parameters, const std::string& key) {
  if (!parameters.is_object() || !parameters.contains("properties")) return false;
  const ordered_json& props = parameters["properties"];
  if (!props.is_object() || !props.contains(key) || !props[key].is_object()) return false;
  const ordered_json& p = props[key];
  if (!p.contains("type")) return false;
  const ordered_json& type = p["type"];
  if (type.is_string()) return type.get<std::string>() == "string";
  return false;
}

}  // namespace

Result<std::vector<ArgPair>> try_parse_arg_pairs(std::string_view text) {
  if (text.size() > glm4::kMaxToolBodyBytes)
    return make_error(ErrorCode::kOutOfRange,
                      "the tool call is longer than " + std::to_string(glm4::kMaxToolBodyBytes) + " bytes");
  std::vector<ArgPair> pairs;
  std::size_t i = 0;
  skip_space(text, i);
  while (i < text.size()) {
    if (text.substr(i, kKeyOpen.size()) != kKeyOpen)
      return parse_error("expected <arg_key> at \"" + std::string(text.substr(i, 20)) + "\"");
    i += kKeyOpen.size();
    const std::size_t key_end = text.find(kKeyClose, i);
    if (key_end == std::string_view::npos) return parse_error("an <arg_key> is not closed");
    ArgPair pair;
    pair.key = std::string(trim(text.substr(i, key_end - i)));
    if (pair.key.empty()) return parse_error("an argument name is empty");
    for (const ArgPair& p : pairs) {
      if (p.key == pair.key) return parse_error("the argument '" + pair.key + "' is given twice");
    }
    i = key_end + kKeyClose.size();
    skip_space(text, i);
    if (text.substr(i, kValueOpen.size()) != kValueOpen)
      return parse_error("the argument '" + pair.key + "' has no <arg_value>");
    i += kValueOpen.size();
    const std::size_t value_end = text.find(kValueClose, i);
    if (value_end == std::string_view::npos)
      return parse_error("the value of '" + pair.key + "' is not closed");
    pair.value = std::string(text.substr(i, value_end - i));
    i = value_end + kValueClose.size();
    pairs.push_back(std::move(pair));
    skip_space(text, i);
  }
  return pairs;
}

std::string format_arg_pairs(std::span<const ArgPair> pairs) {
  std::string out = "\n";
  for (const ArgPair& p : pairs) {
    out += kKeyOpen;
    out += p.key;
    out += kKeyClose;
    out += "\n";
    out += kValueOpen;
    out += p.value;
    out += kValueClose;
    out += "\n";
  }
  return out;
}

std::string python_json_dumps(const ordered_json& value) {
  const auto leaf = [](const ordered_json& v) {
    return v.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  };
  if (value.is_object()) {
    std::string out = "{";
    bool first = true;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!first) out += ", ";
      first = false;
      out += leaf(ordered_json(it.key())) + ": " + python_json_dumps(it.value());
    }
    return out + "}";
  }
  if (value.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (i > 0) out += ", ";
      out += python_json_dumps(value[i]);
    }
    return out + "]";
  }
  return leaf(value);
}

Result<ordered_json> arguments_from_body(std::string_view body, const ordered_json& parameters) {
  ALLTOOLS_ASSIGN_OR_RETURN(std::vector<ArgPair> pairs, try_parse_arg_pairs(body));
  ordered_json args = ordered_json::object();
  for (ArgPair& p : pairs) {
    if (is_string_parameter(parameters, p.key)) {
      args[p.key] = std::move(p.value);
      continue;
    }
    ordered_json v = ordered_json::parse(p.value, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded()) {
      args[p.key] = std::move(p.value);
    } else {
      args[p.key] = std::move(v);
    }
  }
  return args;
}

Result<std::string> body_from_arguments(const ordered_json& arguments) {
  if (!arguments.is_object())
    return make_error(ErrorCode::kInvalidArgument,
                      "tool-call arguments must be a JSON object, got " + std::string(arguments.type_name()));
  std::vector<ArgPair> pairs;
  for (auto it = arguments.begin(); it != arguments.end(); ++it) {
    pairs.push_back(ArgPair{
        it.key(), it.value().is_string() ? it.value().get<std::string>() : python_json_dumps(it.value())});
  }
  return format_arg_pairs(pairs);
}

Result<nlohmann::json> tool_call_arguments(const glm4::ToolCall& call,
                                           std::span<const tools::ToolSpec> tools) {
  const tools::ToolSpec* spec = nullptr;
  for (const tools::ToolSpec& t : tools) {
    if (t.name == call.name) spec = &t;
  }
  if (spec == nullptr) {
    std::string names;
    for (const tools::ToolSpec& t : tools) names += (names.empty() ? "" : ", ") + t.name;
    return make_error(ErrorCode::kNotFound, "there is no tool named '" + call.name + "'; the tools are: " +
                                                (names.empty() ? std::string("(none)") : names));
  }
  ALLTOOLS_ASSIGN_OR_RETURN(ordered_json args, arguments_from_body(call.body, tool_parameters(*spec)));
  return nlohmann::json::parse(args.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
}

}  // namespace alltools::protocol::glm45
