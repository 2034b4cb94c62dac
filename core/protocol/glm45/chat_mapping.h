// GLM-4.5 over an OpenAI chat API (a remote backend in chat mode, model/remote): the conversation as the
// agent rendered it (glm45/chat_template.h) -> chat messages, and a streamed reply -> GLM-4.5 text, so the
// agent's template and parser see the same stream as from a completion endpoint.
//   tokens -> messages  split at role-token ids (never text: a user who types "<|user|>" forges nothing);
//     <|system|> the tools block is dropped (the API's `tools` field carries it), others -> "system"
//     <|user|> -> "user"; <|assistant|> -> one "assistant" message: content, reasoning_content, tool_calls
//     (ids "call_<k>", arguments as JSON text via the tool's schema); the empty generation prompt is dropped
//     <|observation|> -> one "tool" message per <tool_response>, answering the calls in order (a response
//     beyond the open calls joins the previous tool message)
//   reply -> text  "\n<think>{reasoning}</think>" (or "\n<think></think>"), "\n{content}",
//     "\n<tool_call>{name}{canonical body}</tool_call>" per call
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer.h"
#include "tools/tool.h"

namespace alltools::protocol::glm45 {

nlohmann::json chat_messages(std::span<const model::TokenId> tokens, const model::Tokenizer& tokenizer,
                             std::span<const tools::ToolSpec> tools);

// One reply, written as it streams. Each call returns the text to append. Not thread-safe.
class ChatReplyWriter {
 public:
  std::string reasoning(std::string_view delta);
  std::string content(std::string_view delta);
  // `arguments` is the API's JSON text; if it is not a JSON object it is written raw (the argument parser
  // will then tell the model what is wrong).
  std::string tool_call(std::string_view name, std::string_view arguments);
  // Closes an open or missing <think> block.
  std::string end();

 private:
  std::string close_think();
  bool think_open_ = false;
  bool think_done_ = false;
  bool content_started_ = false;
};

// A fresh writer behind any struct of four callables {reasoning, content, tool_call, end} (model/remote's
// ChatReplyFormat), without core/ depending on the backend.
template <typename Format>
Format chat_reply_format() {
  auto w = std::make_shared<ChatReplyWriter>();
  return Format{
      [w](std::string_view d) { return w->reasoning(d); }, [w](std::string_view d) { return w->content(d); },
      [w](std::string_view n, std::string_view a) { return w->tool_call(n, a); }, [w] { return w->end(); }};
}

}  // namespace alltools::protocol::glm45
