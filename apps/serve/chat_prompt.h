// OpenAI chat requests <-> GLM-4. render_chat_prompt() maps messages and function tools onto the GLM-4 chat
// template (assistant tool_calls become `<|assistant|>{name}\n{arguments}` calls, `tool` messages become
// `<|observation|>` observations) and returns the prompt ids. ChatOutputReader turns the generated ids back into
// what OpenAI clients expect: content deltas, and tool calls with ids and JSON arguments. A call of a tool the
// request did not offer (the model wrote a built-in's name) is passed on as content text "name\nbody".
#pragma once

#include <string>
#include <vector>

#include "apps/serve/openai_request.h"
#include "core/protocol/glm4/chat_template.h"
#include "core/protocol/glm4/output_parser.h"
#include "model/tokenizer.h"

namespace alltools::serve {

struct ChatPrompt {
  std::vector<model::TokenId> ids;     // the whole prompt, ending in the generation prompt (and forced text)
  std::vector<tools::ToolSpec> tools;  // the tools offered (none for tool_choice "none")
  std::string forced;                  // text the server wrote after <|assistant|> for the model: "name\n"
};

// Errors (400): tool-call arguments that are not a JSON object.
Parsed<ChatPrompt> render_chat_prompt(const ChatRequest& request, const protocol::glm4::ChatTemplate& chat_template);

// One piece of the reply, in order: content text, the start of a tool call (id and name), or its arguments.
struct ChatDelta {
  enum class Kind { kContent, kToolCallStart, kToolCallArguments };
  Kind kind = Kind::kContent;
  std::string text;  // content, or the arguments JSON text
  int index = 0;     // tool call index
  std::string id, name;
};

// Reads generated ids. Not thread-safe; tokenizer and tools must outlive it.
class ChatOutputReader {
 public:
  ChatOutputReader(const model::Tokenizer& tokenizer, std::vector<tools::ToolSpec> tools, const std::string& forced);
  std::vector<ChatDelta> push(model::TokenId id);
  std::vector<ChatDelta> finish();

  const std::string& content() const { return content_; }
  const std::vector<ChatToolCall>& tool_calls() const { return calls_; }

 private:
  std::vector<ChatDelta> drain();
  std::vector<tools::ToolSpec> tools_;
  protocol::glm4::OutputParser parser_;
  protocol::glm4::TokenFeeder feeder_;
  std::string content_;
  std::vector<ChatToolCall> calls_;
  bool in_unoffered_call_ = false;  // inside a call of a tool the request did not offer (passed on as content)
};

// "call_" + 24 random hex digits.
std::string new_call_id();

}  // namespace alltools::serve
