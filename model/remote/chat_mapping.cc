#include "model/remote/chat_mapping.h"

#include <deque>
#include <optional>
#include <vector>

namespace alltools::model::detail {
namespace {

enum class Role { kNone, kSystem, kUser, kAssistant, kObservation };

struct RawMessage {
  Role role = Role::kNone;
  std::vector<TokenId> ids;
};

}  // namespace

nlohmann::json tokens_to_chat_messages(std::span<const TokenId> tokens, const Tokenizer& tokenizer,
                                       const BodyToArguments& body_to_arguments) {
  const auto id_of = [&](const char* s) { return tokenizer.special_id(s).value_or(-1); };
  const TokenId system = id_of("<|system|>"), user = id_of("<|user|>"), assistant = id_of("<|assistant|>"),
                observation = id_of("<|observation|>");
  std::vector<RawMessage> raw;
  for (TokenId id : tokens) {
    Role role = Role::kNone;
    if (id == system) role = Role::kSystem;
    else if (id == user) role = Role::kUser;
    else if (id == assistant) role = Role::kAssistant;
    else if (id == observation) role = Role::kObservation;
    if (role != Role::kNone) {
      raw.push_back(RawMessage{role, {}});
    } else if (!raw.empty() && !tokenizer.is_special(id)) {
      raw.back().ids.push_back(id);
    }
  }

  nlohmann::json messages = nlohmann::json::array();
  std::deque<std::string> unanswered;  // call ids awaiting a tool message, oldest first
  std::string last_answered;
  int call_counter = 0;
  for (const RawMessage& m : raw) {
    const std::string text = tokenizer.decode_bytes(m.ids);
    const size_t nl = text.find('\n');
    const std::string metadata = nl == std::string::npos ? text : text.substr(0, nl);
    const std::string content = nl == std::string::npos ? "" : text.substr(nl + 1);
    switch (m.role) {
      case Role::kSystem:
      case Role::kUser:
        if (content.empty()) break;
        messages.push_back({{"role", m.role == Role::kSystem ? "system" : "user"}, {"content", content}});
        break;
      case Role::kAssistant: {
        if (metadata.empty()) {
          if (!content.empty()) messages.push_back({{"role", "assistant"}, {"content", content}});
          break;
        }
        const std::string id = "call_" + std::to_string(call_counter++);
        nlohmann::json call = {{"id", id},
                               {"type", "function"},
                               {"function",
                                {{"name", metadata},
                                 {"arguments", body_to_arguments ? body_to_arguments(metadata, content) : content}}}};
        const bool extend = !messages.empty() && messages.back()["role"] == "assistant" &&
                            messages.back().contains("tool_calls");
        if (extend) {
          messages.back()["tool_calls"].push_back(call);
        } else {
          messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {call}}});
        }
        unanswered.push_back(id);
        break;
      }
      case Role::kObservation: {
        if (text.empty()) break;  // a generated stop token; its observation follows as the next message
        if (!unanswered.empty()) {
          last_answered = unanswered.front();
          unanswered.pop_front();
          messages.push_back({{"role", "tool"}, {"tool_call_id", last_answered}, {"content", content}});
        } else if (!messages.empty() && messages.back()["role"] == "tool") {
          std::string joined = messages.back()["content"].get<std::string>() + "\n\n" + content;
          messages.back()["content"] = joined;
        } else {
          // An observation without a call (damaged history): keep its text visible as a user message.
          messages.push_back({{"role", "user"}, {"content", "[tool result] " + content}});
        }
        break;
      }
      case Role::kNone: break;
    }
  }
  return messages;
}

}  // namespace alltools::model::detail
