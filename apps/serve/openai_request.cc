#include "apps/serve/openai_request.h"

#include <cmath>

namespace alltools::serve {
namespace {

using nlohmann::json;

// Nesting depth of JSON text ({ and [ outside strings); stops counting past `limit`.
int json_depth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > limit) return max_depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max_depth;
}

std::string type_name(const json& v) { return v.type_name(); }

ApiError wrong_type(const std::string& param, const char* expected, const json& v) {
  return invalid_request("'" + param + "' must be " + expected + ", not " + type_name(v), param);
}

// Optional fields: absent and null mean "default". Each returns an error or nullopt.
std::optional<ApiError> get_string(const json& o, const char* key, std::string* out, const std::string& prefix = "") {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return wrong_type(prefix + key, "a string", *it);
  *out = it->get<std::string>();
  return std::nullopt;
}

std::optional<ApiError> get_bool(const json& o, const char* key, bool* out) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return wrong_type(key, "a boolean", *it);
  *out = it->get<bool>();
  return std::nullopt;
}

std::optional<ApiError> get_number(const json& o, const char* key, double lo, double hi, float* out) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return wrong_type(key, "a number", *it);
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    return invalid_request("'" + std::string(key) + "' must be between " + json(lo).dump() + " and " +
                               json(hi).dump(),
                           key);
  *out = static_cast<float>(v);
  return std::nullopt;
}

std::optional<ApiError> get_int(const json& o, const char* key, std::int64_t lo, std::int64_t hi, int* out) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) return wrong_type(key, "an integer", *it);
  // Unsigned values past int64 read as huge; compare as unsigned first.
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
    return invalid_request("'" + std::string(key) + "' must be at most " + std::to_string(hi), key);
  const std::int64_t v = it->get<std::int64_t>();
  if (v < lo || v > hi)
    return invalid_request("'" + std::string(key) + "' must be between " + std::to_string(lo) + " and " +
                               std::to_string(hi),
                           key);
  *out = static_cast<int>(v);
  return std::nullopt;
}

// Fields every generating endpoint shares: max_tokens, temperature, top_p, seed, stop, n, stream(_options).
std::optional<ApiError> parse_generation(const json& b, GenerationParams* g) {
  if (auto e = get_int(b, "max_tokens", 1, kMaxTokensLimit, &g->max_tokens)) return e;
  if (auto e = get_int(b, "max_completion_tokens", 1, kMaxTokensLimit, &g->max_tokens)) return e;
  if (auto e = get_number(b, "temperature", 0.0, 2.0, &g->temperature)) return e;
  if (auto e = get_number(b, "top_p", 0.0, 1.0, &g->top_p)) return e;
  if (b.contains("top_p") && b["top_p"].is_number() && g->top_p <= 0.0f)
    return invalid_request("'top_p' must be greater than 0", "top_p");
  if (auto it = b.find("seed"); it != b.end() && !it->is_null()) {
    if (!it->is_number_integer()) return wrong_type("seed", "an integer", *it);
    g->seed = it->is_number_unsigned() ? it->get<std::uint64_t>()
                                       : static_cast<std::uint64_t>(it->get<std::int64_t>());
  }
  if (auto it = b.find("n"); it != b.end() && !it->is_null()) {
    if (!it->is_number_integer()) return wrong_type("n", "an integer", *it);
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() != 1)
      return invalid_request("only n=1 is supported", "n");
  }
  if (auto it = b.find("stop"); it != b.end() && !it->is_null()) {
    if (it->is_string()) {
      g->stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      if (it->size() > kMaxStops)
        return invalid_request("'stop' holds at most " + std::to_string(kMaxStops) + " sequences", "stop");
      for (std::size_t i = 0; i < it->size(); ++i) {
        if (!(*it)[i].is_string()) return wrong_type("stop[" + std::to_string(i) + "]", "a string", (*it)[i]);
        g->stop.push_back((*it)[i].get<std::string>());
      }
    } else {
      return wrong_type("stop", "a string or an array of strings", *it);
    }
    for (const auto& s : g->stop) {
      if (s.empty()) return invalid_request("'stop' sequences must not be empty", "stop");
      if (s.size() > kMaxStopBytes)
        return invalid_request("'stop' sequences are at most " + std::to_string(kMaxStopBytes) + " bytes", "stop");
    }
  }
  if (auto e = get_bool(b, "stream", &g->stream)) return e;
  if (auto it = b.find("stream_options"); it != b.end() && !it->is_null()) {
    if (!it->is_object()) return wrong_type("stream_options", "an object", *it);
    if (auto u = it->find("include_usage"); u != it->end() && !u->is_null()) {
      if (!u->is_boolean()) return wrong_type("stream_options.include_usage", "a boolean", *u);
      g->include_usage = u->get<bool>();
    }
  }
  for (const char* key : {"logprobs", "echo", "best_of", "suffix", "logit_bias", "top_logprobs"}) {
    auto it = b.find(key);
    if (it == b.end() || it->is_null() || (it->is_boolean() && !it->get<bool>())) continue;
    if (std::string_view(key) == "best_of" && it->is_number_integer() && it->is_number_unsigned() &&
        it->get<std::uint64_t>() == 1)
      continue;
    if (it->is_object() && it->empty()) continue;
    return invalid_request("'" + std::string(key) + "' is not supported by this server", key);
  }
  return std::nullopt;
}

// A message's content: a string, null, or an array of {"type": "text", "text": ...} parts (joined).
std::optional<ApiError> parse_content(const json& m, const std::string& prefix, std::string* out) {
  auto it = m.find("content");
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    *out = it->get<std::string>();
    return std::nullopt;
  }
  if (!it->is_array()) return wrong_type(prefix + "content", "a string or an array of text parts", *it);
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& part = (*it)[i];
    const std::string p = prefix + "content[" + std::to_string(i) + "]";
    if (!part.is_object()) return wrong_type(p, "an object", part);
    auto type = part.find("type");
    if (type == part.end() || !type->is_string() || type->get<std::string>() != "text")
      return invalid_request("'" + p + ".type' must be \"text\" (this model reads text only)", p + ".type");
    auto text = part.find("text");
    if (text == part.end() || !text->is_string()) return invalid_request("'" + p + ".text' must be a string", p + ".text");
    *out += text->get<std::string>();
  }
  return std::nullopt;
}

std::optional<ApiError> parse_messages(const json& b, bool required, std::vector<ChatMessage>* out) {
  auto it = b.find("messages");
  if (it == b.end() || it->is_null()) {
    if (required) return invalid_request("'messages' is required", "messages");
    return std::nullopt;
  }
  if (!it->is_array()) return wrong_type("messages", "an array", *it);
  if (required && it->empty()) return invalid_request("'messages' must not be empty", "messages");
  if (it->size() > kMaxMessages)
    return invalid_request("'messages' holds at most " + std::to_string(kMaxMessages) + " messages", "messages");
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string prefix = "messages[" + std::to_string(i) + "].";
    if (!m.is_object()) return wrong_type("messages[" + std::to_string(i) + "]", "an object", m);
    ChatMessage msg;
    std::string role;
    if (auto e = get_string(m, "role", &role, prefix)) return e;
    if (role == "system" || role == "developer") msg.role = ChatRole::kSystem;
    else if (role == "user") msg.role = ChatRole::kUser;
    else if (role == "assistant") msg.role = ChatRole::kAssistant;
    else if (role == "tool") msg.role = ChatRole::kTool;
    else
      return invalid_request("'" + prefix + "role' must be one of system, developer, user, assistant, tool",
                             prefix + "role");
    if (auto e = parse_content(m, prefix, &msg.content)) return e;
    if (auto tc = m.find("tool_calls"); tc != m.end() && !tc->is_null()) {
      if (msg.role != ChatRole::kAssistant)
        return invalid_request("'" + prefix + "tool_calls' is only valid on assistant messages", prefix + "tool_calls");
      if (!tc->is_array()) return wrong_type(prefix + "tool_calls", "an array", *tc);
      for (std::size_t k = 0; k < tc->size(); ++k) {
        const json& c = (*tc)[k];
        const std::string p = prefix + "tool_calls[" + std::to_string(k) + "]";
        if (!c.is_object()) return wrong_type(p, "an object", c);
        ChatToolCall call;
        if (auto e = get_string(c, "id", &call.id, p + ".")) return e;
        auto f = c.find("function");
        if (f == c.end() || !f->is_object()) return invalid_request("'" + p + ".function' must be an object", p + ".function");
        if (auto e = get_string(*f, "name", &call.name, p + ".function.")) return e;
        if (call.name.empty()) return invalid_request("'" + p + ".function.name' is required", p + ".function.name");
        if (auto e = get_string(*f, "arguments", &call.arguments, p + ".function.")) return e;
        msg.tool_calls.push_back(std::move(call));
      }
    }
    if (msg.role == ChatRole::kTool) {
      if (auto e = get_string(m, "tool_call_id", &msg.tool_call_id, prefix)) return e;
    }
    if (msg.role != ChatRole::kAssistant && !m.contains("content"))
      return invalid_request("'" + prefix + "content' is required", prefix + "content");
    out->push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> parse_tools(const json& b, ChatRequest* r) {
  auto it = b.find("tools");
  if (it != b.end() && !it->is_null()) {
    if (!it->is_array()) return wrong_type("tools", "an array", *it);
    if (it->size() > kMaxTools)
      return invalid_request("'tools' holds at most " + std::to_string(kMaxTools) + " tools", "tools");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& t = (*it)[i];
      const std::string p = "tools[" + std::to_string(i) + "]";
      if (!t.is_object()) return wrong_type(p, "an object", t);
      auto type = t.find("type");
      if (type == t.end() || !type->is_string() || type->get<std::string>() != "function")
        return invalid_request("'" + p + ".type' must be \"function\"", p + ".type");
      auto f = t.find("function");
      if (f == t.end() || !f->is_object()) return invalid_request("'" + p + ".function' must be an object", p + ".function");
      std::string name, description;
      if (auto e = get_string(*f, "name", &name, p + ".function.")) return e;
      if (name.empty() || name.size() > 64 ||
          name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
              std::string::npos)
        return invalid_request("'" + p + ".function.name' must be 1-64 characters of a-z, A-Z, 0-9, _ . -",
                               p + ".function.name");
      if (auto e = get_string(*f, "description", &description, p + ".function.")) return e;
      for (const auto& seen : r->tools)
        if (seen.name == name) return invalid_request("two tools are named '" + name + "'", p + ".function.name");
      tools::ToolSpec spec;
      spec.name = name;
      spec.kind = tools::ToolSpec::Kind::kFunction;
      spec.function = nlohmann::ordered_json::object();
      spec.function["name"] = name;
      if (!description.empty()) spec.function["description"] = description;
      if (auto params = f->find("parameters"); params != f->end() && !params->is_null()) {
        if (!params->is_object())
          return wrong_type(p + ".function.parameters", "a JSON Schema object", *params);
        spec.function["parameters"] = nlohmann::ordered_json::parse(params->dump());
      }
      r->tools.push_back(std::move(spec));
    }
  }
  auto tc = b.find("tool_choice");
  if (tc == b.end() || tc->is_null()) return std::nullopt;
  if (tc->is_string()) {
    const std::string c = tc->get<std::string>();
    if (c == "auto") r->tool_choice.kind = ToolChoice::Kind::kAuto;
    else if (c == "none") r->tool_choice.kind = ToolChoice::Kind::kNone;
    else if (c == "required") r->tool_choice.kind = ToolChoice::Kind::kRequired;
    else return invalid_request("'tool_choice' must be \"auto\", \"none\", \"required\" or a function", "tool_choice");
  } else if (tc->is_object()) {
    auto f = tc->find("function");
    if (f == tc->end() || !f->is_object() || !f->contains("name") || !(*f)["name"].is_string())
      return invalid_request("'tool_choice.function.name' must be a string", "tool_choice.function.name");
    r->tool_choice.kind = ToolChoice::Kind::kNamed;
    r->tool_choice.name = (*f)["name"].get<std::string>();
  } else {
    return wrong_type("tool_choice", "a string or an object", *tc);
  }
  if (r->tool_choice.kind == ToolChoice::Kind::kRequired && r->tools.empty())
    return invalid_request("'tool_choice' is \"required\" but no tools were given", "tool_choice");
  if (r->tool_choice.kind == ToolChoice::Kind::kNamed) {
    bool found = false;
    for (const auto& t : r->tools) found = found || t.name == r->tool_choice.name;
    if (!found)
      return invalid_request("'tool_choice' names '" + r->tool_choice.name + "', which is not in 'tools'",
                             "tool_choice.function.name");
  }
  return std::nullopt;
}

}  // namespace

Parsed<json> parse_json_body(std::string_view body) {
  if (json_depth(body, kMaxJsonDepth) > kMaxJsonDepth)
    return invalid_request("the JSON body is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_request("the body is not valid JSON");
  if (!j.is_object()) return invalid_request("the body must be a JSON object");
  return j;
}

Parsed<ChatRequest> parse_chat_request(const json& b) {
  ChatRequest r;
  if (auto e = get_string(b, "model", &r.model)) return *e;
  if (auto e = parse_messages(b, /*required=*/true, &r.messages)) return *e;
  if (auto e = parse_tools(b, &r)) return *e;
  if (auto e = parse_generation(b, &r.gen)) return *e;
  // Each tool message answers a call that an earlier assistant message made.
  std::vector<std::string> open_calls;
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    const ChatMessage& m = r.messages[i];
    if (m.role == ChatRole::kAssistant)
      for (const auto& c : m.tool_calls) open_calls.push_back(c.id);
    if (m.role == ChatRole::kTool && !m.tool_call_id.empty() &&
        std::find(open_calls.begin(), open_calls.end(), m.tool_call_id) == open_calls.end())
      return invalid_request("'messages[" + std::to_string(i) + "].tool_call_id' does not match a tool call of an "
                             "earlier assistant message",
                             "messages[" + std::to_string(i) + "].tool_call_id");
  }
  return r;
}

Parsed<CompletionRequest> parse_completion_request(const json& b) {
  CompletionRequest r;
  r.gen.max_tokens = 16;  // OpenAI's default for completions
  if (auto e = get_string(b, "model", &r.model)) return *e;
  auto p = b.find("prompt");
  if (p == b.end() || p->is_null()) return invalid_request("'prompt' is required", "prompt");
  if (p->is_string()) {
    r.prompt = p->get<std::string>();
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    r.prompt = (*p)[0].get<std::string>();
  } else {
    return invalid_request("'prompt' must be a string (or an array of one string)", "prompt");
  }
  if (r.prompt.empty()) return invalid_request("'prompt' must not be empty", "prompt");
  if (auto e = parse_generation(b, &r.gen)) return *e;
  if (auto e = get_bool(b, "skip_special_tokens", &r.skip_special_tokens)) return *e;
  return r;
}

Parsed<RunRequest> parse_run_request(const json& b) {
  RunRequest r;
  if (auto e = get_string(b, "model", &r.model)) return *e;
  if (auto e = get_string(b, "input", &r.input)) return *e;
  if (r.input.empty()) return invalid_request("'input' (the task) is required", "input");
  if (auto e = parse_messages(b, /*required=*/false, &r.messages)) return *e;
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    const ChatMessage& m = r.messages[i];
    if (m.role == ChatRole::kTool || !m.tool_calls.empty())
      return invalid_request("earlier messages of a run are system, user and assistant text only",
                             "messages[" + std::to_string(i) + "]");
  }
  if (auto e = get_bool(b, "stream", &r.stream)) return *e;
  r.temperature = 0.0f;
  if (auto e = get_number(b, "temperature", 0.0, 2.0, &r.temperature)) return *e;
  if (auto e = get_int(b, "max_tokens", 1, kMaxTokensLimit, &r.max_tokens)) return *e;
  return r;
}

}  // namespace alltools::serve
