#include "apps/serve/chat_prompt.h"

#include <algorithm>
#include <random>

#include "core/protocol/glm4/tool_call.h"

namespace alltools::serve {

namespace glm4 = protocol::glm4;

std::string new_call_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += hex[rng() & 15];
  return id;
}

Parsed<ChatPrompt> render_chat_prompt(const ChatRequest& request, const glm4::ChatTemplate& chat_template) {
  ChatPrompt out;
  if (request.tool_choice.kind != ToolChoice::Kind::kNone) out.tools = request.tools;
  std::vector<glm4::Message> messages;
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    const ChatMessage& m = request.messages[i];
    switch (m.role) {
      case ChatRole::kSystem: messages.push_back(glm4::system_message(m.content)); break;
      case ChatRole::kUser: messages.push_back(glm4::user_message(m.content)); break;
      case ChatRole::kTool: messages.push_back(glm4::observation_message("", m.content)); break;
      case ChatRole::kAssistant: {
        if (!m.content.empty()) messages.push_back(glm4::assistant_answer(m.content));
        for (std::size_t k = 0; k < m.tool_calls.size(); ++k) {
          const ChatToolCall& c = m.tool_calls[k];
          const std::string param =
              "messages[" + std::to_string(i) + "].tool_calls[" + std::to_string(k) + "].function.arguments";
          nlohmann::json args = nlohmann::json::parse(c.arguments.empty() ? "{}" : c.arguments, nullptr, false);
          if (!args.is_object()) return invalid_request("'" + param + "' must be a JSON object in a string", param);
          auto body = glm4::format_tool_call_body(c.name, args, tools::ToolSpec::Kind::kFunction);
          if (!body.ok()) return invalid_request("'" + param + "': " + body.error().message, param);
          messages.push_back(glm4::assistant_tool_call(c.name, *body));
        }
        break;
      }
    }
  }
  out.ids = chat_template.render(out.tools, messages, /*add_generation_prompt=*/true);
  if (request.tool_choice.kind == ToolChoice::Kind::kNamed) {
    out.forced = request.tool_choice.name + "\n";
    const auto forced = chat_template.tokenizer().encode(out.forced);
    out.ids.insert(out.ids.end(), forced.begin(), forced.end());
  }
  return out;
}

ChatOutputReader::ChatOutputReader(const model::Tokenizer& tokenizer, std::vector<tools::ToolSpec> tools,
                                   const std::string& forced)
    : tools_(std::move(tools)), feeder_(tokenizer, parser_) {
  if (!forced.empty()) parser_.push_text(forced);
}

std::vector<ChatDelta> ChatOutputReader::push(model::TokenId id) {
  feeder_.push(id);
  return drain();
}

std::vector<ChatDelta> ChatOutputReader::finish() {
  feeder_.finish();
  return drain();
}

std::vector<ChatDelta> ChatOutputReader::drain() {
  std::vector<ChatDelta> out;
  for (glm4::ParserEvent& e : parser_.take_events()) {
    if (auto* a = std::get_if<glm4::AnswerDelta>(&e)) {
      if (a->text.empty()) continue;
      content_ += a->text;
      out.push_back({ChatDelta::Kind::kContent, std::move(a->text), 0, "", ""});
    } else if (auto* s = std::get_if<glm4::ToolCallStart>(&e)) {
      // A call of a tool the request did not offer is not a call the client can make: it stays text.
      in_unoffered_call_ = std::none_of(tools_.begin(), tools_.end(), [&](const tools::ToolSpec& t) {
        return t.name == s->name;
      });
      if (in_unoffered_call_) {
        content_ += s->name + "\n";
        out.push_back({ChatDelta::Kind::kContent, s->name + "\n", 0, "", ""});
        continue;
      }
      ChatToolCall c{new_call_id(), s->name, ""};
      out.push_back({ChatDelta::Kind::kToolCallStart, "", static_cast<int>(calls_.size()), c.id, c.name});
      calls_.push_back(std::move(c));
    } else if (auto* b = std::get_if<glm4::ToolCallDelta>(&e)) {
      if (!in_unoffered_call_ || b->text.empty()) continue;
      content_ += b->text;
      out.push_back({ChatDelta::Kind::kContent, std::move(b->text), 0, "", ""});
    } else if (auto* d = std::get_if<glm4::SegmentDone>(&e)) {
      if (in_unoffered_call_) {
        in_unoffered_call_ = false;
        continue;
      }
      if (!d->is_tool_call() || calls_.empty()) continue;
      // Arguments as JSON text: the body parsed with the tool's grammar, or the body itself when it is not
      // valid (the client sees what the model wrote).
      auto args = glm4::tool_call_arguments(d->tool_call(), tools_);
      ChatToolCall& c = calls_.back();
      c.arguments = args.ok() ? args->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                              : d->message.content;
      out.push_back({ChatDelta::Kind::kToolCallArguments, c.arguments, static_cast<int>(calls_.size()) - 1, c.id,
                     c.name});
    }
  }
  return out;
}

}  // namespace alltools::serve
