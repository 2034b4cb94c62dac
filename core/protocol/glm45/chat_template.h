// The GLM-4.5/4.6 chat template: conversation + tools -> prompt text and token ids. Facts from the published
// template (zai-org/GLM-4.5 chat_template.jinja, rendered as Hugging Face does: trim_blocks, lstrip_blocks);
// goldens in tests/protocol/glm45_golden_test.cc. Layout:
//   [gMASK]<sop>
//   tools (if any):  <|system|>\n# Tools\n\n…<tools>\n{json.dumps(tool)}\n…</tools>\n\n…XML
//   format…</tool_call> system:          <|system|>\n{content} user:            <|user|>\n{content}  (+
//   "/nothink" when thinking is off and the text does not end with it) assistant block: <|assistant|> +
//   \n<think>{reasoning}</think> (only for blocks after the last user message;
//                    earlier ones get \n<think></think>) + \n{content, stripped} (if any) +
//                    per call \n<tool_call>{name}{body}</tool_call>
//   observations:    <|observation|> once per run of observations, then per message
//                    \n<tool_response>\n{content}\n</tool_response>
//   generation:      <|assistant|>  (thinking off: <|assistant|>\n<think></think>)
// Our messages are segments (glm4/message.h): one assistant block is an answer message followed by the call
// messages right after it, or a run of call messages; the block's reasoning is its first message's. Every
// message is rendered, empty ones included (the template has no skip). Observation metadata is not rendered.
// Tokens: role tokens and [gMASK]/<sop> are special ids; <think>, <tool_call>, <arg_key>… are special ids
// when the tokenizer has them (GLM-4.5's does) and text otherwise (GLM-4's, used as the carrier for remote
// endpoints). Text between special tokens is encoded as one run with Tokenizer::encode() (ordinary: a
// "<|user|>" or "<tool_call>" typed by a user stays text).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "core/protocol/glm4/chat_template.h"
#include "core/protocol/glm4/message.h"
#include "model/tokenizer.h"
#include "tools/tool.h"

namespace alltools::protocol::glm45 {

using model::TokenId;

struct TemplateOptions {
  // false = the template's enable_thinking=false: "/nothink" after each user message and an empty
  // <think></think> in the generation prompt.
  bool enable_thinking = true;
};

class ChatTemplate {
 public:
  // A piece of the prompt: `special` pieces are one special token each; the others are text.
  struct Piece {
    std::string text;
    bool special = false;
    friend bool operator==(const Piece&, const Piece&) = default;
  };

  // Fails (kNotFound) if the tokenizer lacks [gMASK], <sop> or a role token. The tokenizer must outlive the
  // template.
  static Result<ChatTemplate> create(const model::Tokenizer& tokenizer, TemplateOptions options = {});

  std::vector<TokenId> render(std::span<const tools::ToolSpec> tools, std::span<const glm4::Message> messages,
                              bool add_generation_prompt) const;
  std::string render_text(std::span<const tools::ToolSpec> tools, std::span<const glm4::Message> messages,
                          bool add_generation_prompt) const;
  // The prompt as pieces, adjacent text merged (each text piece is one encode() run).
  std::vector<Piece> render_pieces(std::span<const tools::ToolSpec> tools,
                                   std::span<const glm4::Message> messages, bool add_generation_prompt) const;
  std::vector<TokenId> encode_piece(const Piece& piece) const;

  // The tools system text after "<|system|>".
  static std::string tools_system_text(std::span<const tools::ToolSpec> tools);

  // Generation stops at <|endoftext|>, <|user|>, <|observation|>.
  std::vector<TokenId> stop_ids() const;
  const TemplateOptions& options() const { return options_; }
  const model::Tokenizer& tokenizer() const { return *tokenizer_; }

 private:
  ChatTemplate(const model::Tokenizer& tokenizer, TemplateOptions options)
      : tokenizer_(&tokenizer), options_(options) {}

  const model::Tokenizer* tokenizer_;
  TemplateOptions options_;
};

// Incremental rendering (same contract as glm4::IncrementalRenderer): keeps the token sequence the model's
// cache holds and returns, for the conversation as it now stands, what to keep and what to append. Text runs
// that did not change are not re-encoded. The template must outlive it. Not thread-safe.
class IncrementalRenderer {
 public:
  explicit IncrementalRenderer(const ChatTemplate& chat_template) : template_(&chat_template) {}

  glm4::RenderDelta update(std::span<const tools::ToolSpec> tools, std::span<const glm4::Message> messages,
                           bool add_generation_prompt);
  void append_generated(std::span<const TokenId> ids);
  void rewind(int length);
  const std::vector<TokenId>& cached() const { return cached_.ids(); }
  void reset();

 private:
  struct EncodedPiece {
    ChatTemplate::Piece piece;
    std::vector<TokenId> ids;
  };
  const ChatTemplate* template_;
  glm4::CachedTokens cached_;
  std::vector<EncodedPiece> pieces_;
};

}  // namespace alltools::protocol::glm45
