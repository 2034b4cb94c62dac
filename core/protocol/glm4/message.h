// Messages of a GLM-4 conversation as the wire protocol sees them: `<|role|>{metadata}\n{content}`.
//   system       metadata ""                 content: the system text
//   user         metadata ""                 content: what the user typed (always encoded as plain text)
//   assistant    metadata "" = an answer;    metadata "{tool name}" = a tool call whose content is its body
//   observation  metadata "", "browser_result", "quote_result [3†source]", "cogview_result", "system_error"
//   GLM-4.5/4.6 (core/protocol/glm45) reuses these messages: a call's content is its canonical argument list
//   (glm45/tool_call.h), and an assistant message may carry the reasoning the model wrote in <think>…</think>.
// Value types: copy, compare with ==, print with << (test failures read well).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace alltools::protocol::glm4 {

enum class Role : std::uint8_t { kSystem, kUser, kAssistant, kObservation };

// "system", "user", "assistant", "observation".
std::string_view role_name(Role role);
// The special token that opens a message of this role: "<|system|>", "<|user|>", ...
std::string_view role_token(Role role);
// Inverse of role_name().
std::optional<Role> role_from_name(std::string_view name);

struct Message {
  Role role = Role::kUser;
  std::string metadata;
  std::string content;
  // Reasoning written before this message (GLM-4.5's <think> block), or "". GLM-4 never sets it. Shown to the
  // model again only within the turn it was written in (the GLM-4.5 template drops it once a user message follows).
  std::string reasoning;

  bool is_tool_call() const { return role == Role::kAssistant && !metadata.empty(); }
  friend bool operator==(const Message&, const Message&) = default;
};

std::ostream& operator<<(std::ostream& os, Role role);
// Prints `assistant[python]: "print(1)"` with C-style escapes, for test failures and logs.
std::ostream& operator<<(std::ostream& os, const Message& message);

Message system_message(std::string content);
Message user_message(std::string content);
Message assistant_answer(std::string content);
Message assistant_tool_call(std::string tool_name, std::string body);
Message observation_message(std::string metadata, std::string content);

}  // namespace alltools::protocol::glm4
