#include "core/protocol/glm4/message.h"

#include <cstdio>

namespace alltools::protocol::glm4 {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kSystem: return "system";
    case Role::kUser: return "user";
    case Role::kAssistant: return "assistant";
    case Role::kObservation: return "observation";
  }
  return "unknown";
}

std::string_view role_token(Role role) {
  switch (role) {
    case Role::kSystem: return "<|system|>";
    case Role::kUser: return "<|user|>";
    case Role::kAssistant: return "<|assistant|>";
    case Role::kObservation: return "<|observation|>";
  }
  return "";
}

std::optional<Role> role_from_name(std::string_view name) {
  for (Role r : {Role::kSystem, Role::kUser, Role::kAssistant, Role::kObservation}) {
    if (role_name(r) == name) return r;
  }
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, Role role) { return os << role_name(role); }

namespace {
void print_escaped(std::ostream& os, std::string_view s) {
  os << '"';
  for (char c : s) {
    switch (c) {
      case '\n': os << "\\n"; break;
      case '\r': os << "\\r"; break;
      case '\t': os << "\\t"; break;
      case '"': os << "\\\""; break;
      case '\\': os << "\\\\"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
          os << buf;
        } else {
          os << c;
        }
    }
  }
  os << '"';
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const Message& message) {
  os << message.role;
  if (!message.metadata.empty()) {
    os << '[';
    print_escaped(os, message.metadata);
    os << ']';
  }
  os << ": ";
  print_escaped(os, message.content);
  if (!message.reasoning.empty()) {
    os << " (reasoning ";
    print_escaped(os, message.reasoning);
    os << ')';
  }
  return os;
}

Message system_message(std::string content) { return Message{Role::kSystem, "", std::move(content)}; }
Message user_message(std::string content) { return Message{Role::kUser, "", std::move(content)}; }
Message assistant_answer(std::string content) { return Message{Role::kAssistant, "", std::move(content)}; }
Message assistant_tool_call(std::string tool_name, std::string body) {
  return Message{Role::kAssistant, std::move(tool_name), std::move(body)};
}
Message observation_message(std::string metadata, std::string content) {
  return Message{Role::kObservation, std::move(metadata), std::move(content)};
}

}  // namespace alltools::protocol::glm4
