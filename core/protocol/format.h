// Prompt-format profiles: everything that differs between model generations' wire formats behind one
// interface.
//   glm4   glm-4-9b-chat / -hf / GLM-4-0414: `<|assistant|>{name}\n{body}` calls (glm4/*, byte-exact as
//   before) glm45  GLM-4.5 / GLM-4.6: <think> reasoning and
//   <tool_call>name<arg_key>…</arg_key><arg_value>…</arg_value>
//          calls (glm45/*)
// A profile renders prompts (whole or incrementally), makes the streaming parser, names the stop tokens and
// maps call bodies to and from Tool arguments. Messages are glm4::Message in both formats. The format is
// chosen from a checkpoint's chat template (tokenizer_config.json "chat_template", or chat_template.jinja)
// when a folder has one, else from --format.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "core/protocol/glm4/chat_template.h"
#include "core/protocol/glm4/message.h"
#include "core/protocol/glm4/output_parser.h"
#include "core/protocol/glm4/tool_call.h"
#include "core/protocol/glm45/chat_template.h"
#include "model/tokenizer.h"
#include "tools/tool.h"

namespace alltools::protocol {

enum class Format : std::uint8_t { kGlm4, kGlm45 };

std::string_view format_name(Format format);  // "glm4", "glm45"
// "glm4" / "glm45" (also "glm-4", "glm-4.5", "glm46", "glm-4.6"); kInvalidArgument otherwise.
Result<Format> parse_format(std::string_view name);

// The format a Jinja chat template writes: <arg_key> → glm45; <|observation|> → glm4; nullopt if neither.
std::optional<Format> format_from_chat_template(std::string_view chat_template);
// The format of the checkpoint or tokenizer folder `dir` (or the folder of a tokenizer file): its
// chat_template.jinja, else tokenizer_config.json's "chat_template" (a string, or a list of
// {"name","template"} where "default" or the first is used). nullopt when the folder has no template; kParse
// when tokenizer_config.json is not JSON; kUnsupported when a template exists but is neither format.
Result<std::optional<Format>> format_from_folder(const std::filesystem::path& dir);

struct FormatOptions {
  Format format = Format::kGlm4;
  glm4::TemplateOptions glm4;
  glm45::TemplateOptions glm45;
};

// Incremental prompt rendering for a model's KV cache (glm4::IncrementalRenderer's contract).
class PromptRenderer {
 public:
  virtual ~PromptRenderer() = default;
  virtual glm4::RenderDelta update(std::span<const tools::ToolSpec> tools,
                                   std::span<const glm4::Message> messages, bool add_generation_prompt) = 0;
  virtual void append_generated(std::span<const model::TokenId> ids) = 0;
  virtual void rewind(int length) = 0;
  virtual const std::vector<model::TokenId>& cached() const = 0;
};

class FormatProfile {
 public:
  virtual ~FormatProfile() = default;
  virtual Format format() const = 0;

  virtual std::vector<model::TokenId> render(std::span<const tools::ToolSpec> tools,
                                             std::span<const glm4::Message> messages,
                                             bool add_generation_prompt) const = 0;
  virtual std::string render_text(std::span<const tools::ToolSpec> tools,
                                  std::span<const glm4::Message> messages,
                                  bool add_generation_prompt) const = 0;
  // The profile must outlive the renderer.
  virtual std::unique_ptr<PromptRenderer> make_renderer() const = 0;
  virtual std::unique_ptr<glm4::StreamParser> make_parser() const = 0;
  virtual std::vector<model::TokenId> stop_ids() const = 0;

  // A call's body -> Tool arguments (errors written for the model), and arguments -> the body this format
  // writes for them (for calls that arrive as JSON, e.g. from a chat API).
  virtual Result<nlohmann::json> tool_call_arguments(const glm4::ToolCall& call,
                                                     std::span<const tools::ToolSpec> tools) const = 0;
  virtual Result<std::string> tool_call_body(std::string_view tool, const nlohmann::ordered_json& arguments,
                                             std::span<const tools::ToolSpec> tools) const = 0;
};

// Errors: the tokenizer lacks a special token the format needs (kNotFound). The tokenizer must outlive the
// profile.
Result<std::unique_ptr<FormatProfile>> make_format_profile(const model::Tokenizer& tokenizer,
                                                           FormatOptions options);

}  // namespace alltools::protocol
