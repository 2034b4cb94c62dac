#include "core/protocol/glm45/chat_mapping.h"

#include <deque>

#include "core/protocol/glm45/chat_template.h"
#include "core/protocol/glm45/output_parser.h"
#include "core/protocol/glm45/tool_call.h"
#include "core/protocol/tool_functions.h"

namespace alltools::protocol::glm45 {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kResponseOpen = "<tool_response>\n", kResponseClose = "\n</tool_response>";

std::string drop_newline(std::string text) {
  if (!text.empty() && text.front() == '\n') text.erase(0, 1);
  return text;
}

std::string arguments_text(const glm4::Message& call, std::span<const tools::ToolSpec> tools) {
  ordered_json parameters = ordered_json::object();
  for (const tools::ToolSpec& t : tools) {
    if (t.name == call.metadata) parameters = tool_parameters(t);
  }
  auto args = arguments_from_body(call.content, parameters);
  return args.ok() ? args->dump(-1, ' ', false, ordered_json::error_handler_t::replace) : call.content;
}

// One assistant block's text -> an assistant message (null when the block is empty: the generation prompt).
json assistant_message(const std::string& text, std::span<const tools::ToolSpec> tools, int* next_call_id,
                       std::deque<std::string>* open_calls) {
  OutputParser parser;
  parser.push_text(text);
  parser.finish();
  json message = {{"role", "assistant"}, {"content", ""}};
  std::string content, reasoning;
  json calls = json::array();
  for (glm4::ParserEvent& e : parser.take_events()) {
    auto* done = std::get_if<glm4::SegmentDone>(&e);
    if (done == nullptr) continue;
    const glm4::Message& m = done->message;
    if (reasoning.empty()) reasoning = m.reasoning;
    if (m.is_tool_call()) {
      const std::string id = "call_" + std::to_string((*next_call_id)++);
      open_calls->push_back(id);
      calls.push_back({{"id", id},
                       {"type", "function"},
                       {"function", {{"name", m.metadata}, {"arguments", arguments_text(m, tools)}}}});
    } else if (!m.content.empty()) {
      content += (content.empty() ? "" : "\n") + m.content;
    }
  }
  if (content.empty() && reasoning.empty() && calls.empty()) return nullptr;
  message["content"] = content;
  if (!reasoning.empty()) message["reasoning_content"] = reasoning;
  if (!calls.empty()) message["tool_calls"] = std::move(calls);
  return message;
}

}  // namespace

json chat_messages(std::span<const model::TokenId> tokens, const model::Tokenizer& tokenizer,
                   std::span<const tools::ToolSpec> tools) {
  const auto system = tokenizer.special_id("<|system|>"), user = tokenizer.special_id("<|user|>");
  const auto assistant = tokenizer.special_id("<|assistant|>"),
             observation = tokenizer.special_id("<|observation|>");
  json out = json::array();
  int next_call_id = 0;
  std::deque<std::string> open_calls;
  const std::string tools_text = tools.empty() ? std::string() : ChatTemplate::tools_system_text(tools);
  std::size_t i = 0;
  while (i < tokens.size()) {
    const model::TokenId role = tokens[i];
    std::size_t end = i + 1;
    auto is_role = [&](model::TokenId id) {
      return id == system || id == user || id == assistant || id == observation;
    };
    while (end < tokens.size() && !is_role(tokens[end])) ++end;
    if (!is_role(role)) {  // [gMASK]<sop> and anything before the first role token
      i = end;
      continue;
    }
    const std::string text = tokenizer.decode_bytes(tokens.subspan(i + 1, end - i - 1));
    i = end;
    if (role == system) {
      if (!tools_text.empty() && text == tools_text) continue;
      out.push_back({{"role", "system"}, {"content", drop_newline(text)}});
    } else if (role == user) {
      out.push_back({{"role", "user"}, {"content", drop_newline(text)}});
    } else if (role == assistant) {
      json m = assistant_message(text, tools, &next_call_id, &open_calls);
      if (!m.is_null()) out.push_back(std::move(m));
    } else {
      std::size_t pos = 0;
      while (true) {
        const std::size_t open = text.find(kResponseOpen, pos);
        if (open == std::string::npos) break;
        const std::size_t body = open + kResponseOpen.size();
        const std::size_t close = text.find(kResponseClose, body);
        const std::string response =
            text.substr(body, close == std::string::npos ? std::string::npos : close - body);
        pos = close == std::string::npos ? text.size() : close + kResponseClose.size();
        if (!open_calls.empty()) {
          out.push_back({{"role", "tool"}, {"tool_call_id", open_calls.front()}, {"content", response}});
          open_calls.pop_front();
        } else if (!out.empty() && out.back().value("role", "") == "tool") {
          out.back()["content"] = out.back()["content"].get<std::string>() + "\n" + response;
        } else {
          out.push_back({{"role", "user"}, {"content", response}});  // an observation nobody asked for
        }
      }
    }
  }
  return out;
}

std::string ChatReplyWriter::close_think() {
  if (think_done_) return {};
  think_done_ = true;
  if (think_open_) {
    think_open_ = false;
    return "</think>";
  }
  return "\n<think></think>";
}

std::string ChatReplyWriter::reasoning(std::string_view delta) {
  if (think_done_) return std::string(delta);  // reasoning after the answer started: kept as answer text
  std::string out = think_open_ ? "" : "\n<think>";
  think_open_ = true;
  return out + std::string(delta);
}

std::string ChatReplyWriter::content(std::string_view delta) {
  std::string out = close_think();
  if (!content_started_) out += "\n";
  content_started_ = true;
  return out + std::string(delta);
}

std::string ChatReplyWriter::tool_call(std::string_view name, std::string_view arguments) {
  std::string out = close_think();
  const ordered_json args = ordered_json::parse(arguments, nullptr, /*allow_exceptions=*/false);
  auto body = args.is_discarded() ? Result<std::string>(make_error(ErrorCode::kParse, ""))
                                  : body_from_arguments(args);
  out += "\n<tool_call>";
  out += name;
  out += body.ok() ? *body : std::string(arguments);
  out += "</tool_call>";
  return out;
}

std::string ChatReplyWriter::end() { return close_think(); }

}  // namespace alltools::protocol::glm45
