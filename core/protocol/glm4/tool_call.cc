#include "core/protocol/glm4/tool_call.h"

#include <cstdio>

#include "model/tokenizer/utf8_stream_decoder.h"

namespace alltools::protocol::glm4 {
namespace {

using nlohmann::json;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

// Removes one surrounding markdown fence (```lang ... ```) whose language is one of `langs` (or none).
// Returns the inside, or the input unchanged when there is no such fence.
std::string_view strip_fence(std::string_view body, std::initializer_list<std::string_view> langs) {
  const std::string_view t = trim(body);
  if (t.substr(0, 3) != "```") return body;
  const std::size_t nl = t.find('\n');
  const std::string_view lang = trim(t.substr(3, nl == std::string_view::npos ? std::string_view::npos : nl - 3));
  bool known = lang.empty();
  for (std::string_view l : langs) known = known || lang == l;
  if (!known) return body;
  if (nl == std::string_view::npos) return std::string_view();
  std::string_view inside = t.substr(nl + 1);
  const std::string_view trimmed_inside = trim(inside);
  if (trimmed_inside.size() >= 3 && trimmed_inside.substr(trimmed_inside.size() - 3) == "```") {
    const std::size_t close = inside.rfind("```");
    inside = inside.substr(0, close);
  }
  return inside;
}

Status check_size(std::string_view tool, std::string_view body) {
  if (body.size() > kMaxToolBodyBytes) {
    return make_error(ErrorCode::kOutOfRange, std::string(tool) + ": the call is " + std::to_string(body.size()) +
                                                  " bytes, more than the limit of " + std::to_string(kMaxToolBodyBytes));
  }
  if (!model::is_valid_utf8(body)) {
    return make_error(ErrorCode::kParse, std::string(tool) + ": the call is not valid UTF-8");
  }
  return ok_status();
}

// json.dumps(value, ensure_ascii=False) layout: ", " and ": " separators.
void python_dumps(const json& v, std::string& out) {
  if (v.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [k, item] : v.items()) {
      if (!first) out += ", ";
      first = false;
      out += json(k).dump(-1, ' ', false, json::error_handler_t::replace);
      out += ": ";
      python_dumps(item, out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& item : v) {
      if (!first) out += ", ";
      first = false;
      python_dumps(item, out);
    }
    out += ']';
  } else {
    out += v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

std::string quoted(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::ostream& operator<<(std::ostream& os, const ToolCall& call) {
  return os << "ToolCall{" << call.to_message() << "}";
}

Result<json> parse_python_body(std::string_view body) {
  ALLTOOLS_RETURN_IF_ERROR(check_size("python", body));
  std::string_view code = strip_fence(body, {"python", "py", "python3", "ipython"});
  while (!code.empty() && is_ws(code.back())) code.remove_suffix(1);
  while (!code.empty() && (code.front() == '\n' || code.front() == '\r')) code.remove_prefix(1);
  if (trim(code).empty()) return make_error(ErrorCode::kInvalidArgument, "python: the message contains no code");
  return json{{"code", std::string(code)}};
}

Result<json> parse_browser_body(std::string_view body) {
  ALLTOOLS_RETURN_IF_ERROR(check_size("simple_browser", body));
  body = strip_fence(body, {"python", "py"});
  json calls = json::array();
  std::size_t line_number = 0;
  while (!body.empty()) {
    const std::size_t nl = body.find('\n');
    const std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    ++line_number;
    if (trim(line).empty()) continue;
    if (calls.size() == kMaxBrowserCallsPerBody) {
      return make_error(ErrorCode::kOutOfRange, "simple_browser: more than " +
                                                    std::to_string(kMaxBrowserCallsPerBody) + " calls in one message");
    }
    auto call = try_parse_browser_call(line);
    if (!call.ok()) {
      return call.error().context("simple_browser: line " + std::to_string(line_number) + " `" +
                                  std::string(trim(line)) + "`");
    }
    calls.push_back(std::move(call).value());
  }
  if (calls.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "simple_browser: the message contains no call; write search(\"query\"), mclick([ids]) or "
                      "open_url(\"url\")");
  }
  return json{{"calls", std::move(calls)}};
}

Result<json> parse_cogview_body(std::string_view body) {
  ALLTOOLS_RETURN_IF_ERROR(check_size("cogview", body));
  const std::string_view prompt = trim(body);
  if (prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "cogview: the image description is empty");
  return json{{"prompt", std::string(prompt)}};
}

Result<json> parse_function_body(std::string_view body) {
  ALLTOOLS_RETURN_IF_ERROR(check_size("function", body));
  const std::string_view text = trim(strip_fence(body, {"json", "JSON"}));
  if (text.empty()) return make_error(ErrorCode::kInvalidArgument, "the call has no arguments; write one JSON object");
  bool too_deep = false;
  json value;
  try {
    value = json::parse(
        text,
        [&](int depth, json::parse_event_t, json&) {
          if (depth > kMaxJsonDepth) too_deep = true;
          return !too_deep;
        },
        /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    if (too_deep) {
      return make_error(ErrorCode::kOutOfRange, "the arguments nest deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    return make_error(ErrorCode::kParse, std::string("the arguments are not valid JSON: ") + e.what());
  }
  if (too_deep) {
    return make_error(ErrorCode::kOutOfRange, "the arguments nest deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  if (!value.is_object()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the arguments must be one JSON object, got " + std::string(value.type_name()));
  }
  return value;
}

Result<json> tool_call_arguments(const ToolCall& call, std::span<const tools::ToolSpec> tools) {
  const tools::ToolSpec* spec = nullptr;
  for (const auto& t : tools) {
    if (t.name == call.name) spec = &t;
  }
  if (spec == nullptr) {
    std::string names;
    for (const auto& t : tools) names += (names.empty() ? "" : ", ") + t.name;
    return make_error(ErrorCode::kNotFound, "unknown tool '" + call.name + "'; available tools: " +
                                                (names.empty() ? std::string("none") : names));
  }
  if (spec->kind == tools::ToolSpec::Kind::kFunction) {
    auto args = parse_function_body(call.body);
    if (!args.ok()) return args.error().context(call.name);
    return args;
  }
  if (call.name == "python") return parse_python_body(call.body);
  if (call.name == "simple_browser") return parse_browser_body(call.body);
  if (call.name == "cogview") return parse_cogview_body(call.body);
  return make_error(ErrorCode::kUnsupported, "built-in tool '" + call.name + "' has no body grammar");
}

Result<std::string> format_tool_call_body(std::string_view tool_name, const json& arguments,
                                          tools::ToolSpec::Kind kind) {
  const std::string name(tool_name);
  auto bad = [&](const std::string& what) {
    return make_error(ErrorCode::kInvalidArgument, name + ": cannot format arguments: " + what);
  };
  if (kind == tools::ToolSpec::Kind::kFunction) {
    if (!arguments.is_object()) return bad("expected a JSON object");
    std::string out;
    python_dumps(arguments, out);
    return out;
  }
  if (name == "python" || name == "cogview") {
    const char* key = name == "python" ? "code" : "prompt";
    if (!arguments.is_object() || !arguments.contains(key) || !arguments[key].is_string()) {
      return bad(std::string("expected {\"") + key + "\": string}");
    }
    return arguments[key].get<std::string>();
  }
  if (name == "simple_browser") {
    if (!arguments.is_object() || !arguments.contains("calls") || !arguments["calls"].is_array()) {
      return bad("expected {\"calls\": [...]}");
    }
    std::string out;
    for (const auto& c : arguments["calls"]) {
      if (!c.is_object() || !c.contains("fn") || !c["fn"].is_string()) return bad("each call needs \"fn\"");
      const std::string fn = c["fn"].get<std::string>();
      if (!out.empty()) out += "\n";
      if (fn == "search" && c.contains("query") && c["query"].is_string()) {
        out += "search(" + quoted(c["query"].get<std::string>());
        if (c.contains("recency_days")) {
          if (!c["recency_days"].is_number_integer()) return bad("recency_days must be an integer");
          out += ", recency_days=" + std::to_string(c["recency_days"].get<std::int64_t>());
        }
        out += ")";
      } else if (fn == "mclick" && c.contains("ids") && c["ids"].is_array()) {
        out += "mclick([";
        bool first = true;
        for (const auto& id : c["ids"]) {
          if (!id.is_number_integer()) return bad("mclick ids must be integers");
          out += (first ? "" : ", ") + std::to_string(id.get<std::int64_t>());
          first = false;
        }
        out += "])";
      } else if (fn == "open_url" && c.contains("url") && c["url"].is_string()) {
        out += "open_url(" + quoted(c["url"].get<std::string>()) + ")";
      } else {
        return bad("call " + c.dump(-1, ' ', false, json::error_handler_t::replace) + " has the wrong shape");
      }
    }
    return out;
  }
  return bad("unknown built-in tool");
}

tools::Observation tool_call_error_observation(const ToolCall& call, const Error& error) {
  std::string text = error.message;
  if (text.rfind(call.name, 0) != 0 && text.rfind("unknown tool", 0) != 0) text = call.name + ": " + text;
  return tools::error_observation(std::move(text), call.name == "simple_browser" ? "system_error" : "");
}

}  // namespace alltools::protocol::glm4
