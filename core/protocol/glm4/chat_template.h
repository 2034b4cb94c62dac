// The glm-4-9b-chat chat template: conversation + tool list -> token ids, byte-exactly
// (../shared/docs/glm4-protocol.md §2). Layout:
//   [gMASK]<sop>
//   <|system|> encode("\n" + identity + ["\n当前日期: " + date] + "\n\n# 可用工具" + tool blocks)   (only if tools)
//   per message with non-empty content: <|role|> encode(metadata + "\n" + content)
//   generation prompt: <|assistant|>   (GLM-4-0414 mode: <|assistant|> encode("\n"))
// Tool blocks, in the order given: built-in `\n\n## {name}\n\n{prompts/ text}`; user function
// `\n\n## {name}\n\n{json.dumps(function, indent=4, ensure_ascii=False)}\n在调用上述函数时，请使用 Json 格式表示调用的参数。`
// (composite_demo's layout: the HF Jinja template's trim_blocks would eat the newline before a function's `##`).
// Message text is encoded with Tokenizer::encode() (ordinary): a literal "<|user|>" in content stays text.
// Special ids are looked up by string through Tokenizer::special_id(), never hard-coded.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "core/protocol/glm4/message.h"
#include "model/language_model.h"
#include "model/tokenizer.h"
#include "tools/tool.h"

namespace alltools::protocol::glm4 {

using model::TokenId;

struct TemplateOptions {
  // The identity sentence opening the tools system prompt; nullopt = prompts::identity(); "" = no sentence
  // (then, without a date either, the block is "\n# 可用工具" + tool blocks).
  std::optional<std::string> identity;
  // If set, the line "当前日期: {date}" follows the identity sentence (e.g. "2024-06-05"). Off by default:
  // glm-4-9b-chat's own template has no date line.
  std::optional<std::string> date;
  // GLM-4-0414 writes the generation prompt as "<|assistant|>\n"; glm-4-9b-chat as "<|assistant|>".
  bool generation_prompt_newline = false;
};

class ChatTemplate {
 public:
  // Fails (kNotFound) if the tokenizer lacks one of the special tokens the template needs.
  // The tokenizer must outlive the template.
  static Result<ChatTemplate> create(const model::Tokenizer& tokenizer, TemplateOptions options = {});

  // The whole prompt.
  std::vector<TokenId> render(std::span<const tools::ToolSpec> tools, std::span<const Message> messages,
                              bool add_generation_prompt) const;
  // The same prompt as text (special tokens as their strings): for golden tests, logs and text-completion APIs.
  std::string render_text(std::span<const tools::ToolSpec> tools, std::span<const Message> messages,
                          bool add_generation_prompt) const;

  // Pieces of render(): "[gMASK]<sop>"; the tools system message (empty if no tools); one message (empty if its
  // content is empty); the generation prompt.
  std::vector<TokenId> prefix() const;
  std::vector<TokenId> render_tools(std::span<const tools::ToolSpec> tools) const;
  std::vector<TokenId> render_message(const Message& message) const;
  std::vector<TokenId> generation_prompt() const;

  // The text of the tools system message after "<|system|>" (starts with "\n").
  std::string tools_system_text(std::span<const tools::ToolSpec> tools) const;
  // The text of one message after its role token: metadata + "\n" + content.
  static std::string message_text(const Message& message);

  // Generation stops at these ids: <|endoftext|>, <|user|>, <|observation|>.
  std::vector<TokenId> stop_ids() const;

  const model::Tokenizer& tokenizer() const { return *tokenizer_; }
  const TemplateOptions& options() const { return options_; }

 private:
  ChatTemplate(const model::Tokenizer& tokenizer, TemplateOptions options);

  const model::Tokenizer* tokenizer_;
  TemplateOptions options_;
  TokenId gmask_ = 0, sop_ = 0, system_ = 0, user_ = 0, assistant_ = 0, observation_ = 0, endoftext_ = 0;
};

// What the model's KV cache must do to hold the current conversation: keep its first `keep` tokens (rewind to
// `keep` if it holds more), then append `append`.
struct RenderDelta {
  int keep = 0;
  std::vector<TokenId> append;
  friend bool operator==(const RenderDelta&, const RenderDelta&) = default;
};
// The token sequence a model's cache holds, as an incremental renderer tracks it (GLM-4 and GLM-4.5 share it).
class CachedTokens {
 public:
  // The delta that turns ids() into `full` (the longest common prefix is kept); ids() becomes `full`.
  RenderDelta replace(std::vector<TokenId> full);
  // Tokens the model generated after the last replace() (generate() appends them, the stop token included).
  void append(std::span<const TokenId> ids) { ids_.insert(ids_.end(), ids.begin(), ids.end()); }
  // The model's cache was truncated to `length` tokens (length <= ids().size()).
  void rewind(int length);
  void clear() { ids_.clear(); }
  const std::vector<TokenId>& ids() const { return ids_; }

 private:
  std::vector<TokenId> ids_;
};

// Incremental rendering for a local model: remembers the token sequence the model's cache holds (what it was
// given plus what it generated) and, for the conversation as it now stands, returns only the difference.
// Messages already rendered are not re-encoded (their ids are cached by value). When the model's own tokens
// differ from the template's rendering of the same message (a non-canonical tokenization, or <|endoftext|>
// where the next turn puts <|user|>), `keep` stops at the first difference. One conversation per instance;
// the template must outlive it. Not thread-safe.
class IncrementalRenderer {
 public:
  explicit IncrementalRenderer(const ChatTemplate& chat_template) : template_(&chat_template) {}

  // Renders tools + messages (+ generation prompt) and diffs against cached(); afterwards cached() equals the
  // full rendering. The caller applies the delta to the model (rewind(keep), append(append)).
  RenderDelta update(std::span<const tools::ToolSpec> tools, std::span<const Message> messages,
                     bool add_generation_prompt);
  // Records tokens the model generated after the last update() (generate() appends them to its cache),
  // including the stop token.
  void append_generated(std::span<const TokenId> ids);
  // Records that the model's cache was truncated to `length` tokens (length <= cached().size()).
  void rewind(int length);

  const std::vector<TokenId>& cached() const { return cached_.ids(); }
  void reset();

 private:
  struct MessageIds {
    Message message;
    std::vector<TokenId> ids;
  };
  const ChatTemplate* template_;
  CachedTokens cached_;
  std::string tools_key_;
  std::vector<TokenId> tools_ids_;
  std::vector<MessageIds> message_cache_;
};

}  // namespace alltools::protocol::glm4
