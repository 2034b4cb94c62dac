#include "core/protocol/glm45/chat_template.h"

#include "core/protocol/glm45/tool_call.h"
#include "core/protocol/tool_functions.h"

namespace alltools::protocol::glm45 {
namespace {

using glm4::Message;
using glm4::Role;

// The tools block, before and after the one-line JSON of each tool (template text, verbatim).
constexpr std::string_view kToolsHead =
    "\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n";
constexpr std::string_view kToolsTail =
    "</tools>\n\nFor each function call, output the function name and arguments within the following XML "
    "format:\n<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>\n<arg_value>{arg-value-1}</"
    "arg_value>\n"
    "<arg_key>{arg-key-2}</arg_key>\n<arg_value>{arg-value-2}</arg_value>\n...\n</tool_call>";
constexpr std::string_view kNoThink = "/nothink";

// Python's str.strip() for the ASCII whitespace the template's .strip() removes in practice.
std::string_view strip(std::string_view s) {
  constexpr std::string_view ws = " \t\n\r\f\v";
  const std::size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

class PieceWriter {
 public:
  explicit PieceWriter(const model::Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  void special(std::string_view token) { out_.push_back({std::string(token), true}); }
  void text(std::string_view s) {
    if (s.empty()) return;
    if (out_.empty() || out_.back().special) {
      out_.push_back({std::string(s), false});
    } else {
      out_.back().text.append(s);
    }
  }
  // A structural tag: a special token where the tokenizer has one, else text.
  void tag(std::string_view token) {
    if (tokenizer_.special_id(token)) {
      special(token);
    } else {
      text(token);
    }
  }
  std::vector<ChatTemplate::Piece> take() { return std::move(out_); }

 private:
  const model::Tokenizer& tokenizer_;
  std::vector<ChatTemplate::Piece> out_;
};

void write_call(PieceWriter& w, const Message& m) {
  w.text("\n");
  w.tag("<tool_call>");
  w.text(m.metadata);
  auto pairs = try_parse_arg_pairs(m.content);
  if (!pairs.ok()) {
    // Not canonical (a malformed reply, kept so the model sees what it wrote): the parser took it from after
    // the name's newline.
    w.text("\n");
    w.text(m.content);
  } else {
    w.text("\n");
    for (const ArgPair& p : *pairs) {
      w.tag("<arg_key>");
      w.text(p.key);
      w.tag("</arg_key>");
      w.text("\n");
      w.tag("<arg_value>");
      w.text(p.value);
      w.tag("</arg_value>");
      w.text("\n");
    }
  }
  w.tag("</tool_call>");
}

}  // namespace

Result<ChatTemplate> ChatTemplate::create(const model::Tokenizer& tokenizer, TemplateOptions options) {
  for (std::string_view token :
       {"[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>", "<|endoftext|>"}) {
    if (!tokenizer.special_id(token))
      return make_error(ErrorCode::kNotFound,
                        "GLM-4.5 chat template: the tokenizer has no special token " + std::string(token));
  }
  return ChatTemplate(tokenizer, options);
}

std::string ChatTemplate::tools_system_text(std::span<const tools::ToolSpec> tools) {
  std::string text(kToolsHead);
  for (const tools::ToolSpec& tool : tools) {
    text += python_json_dumps(tool_function(tool));
    text += "\n";
  }
  text += kToolsTail;
  return text;
}

std::vector<ChatTemplate::Piece> ChatTemplate::render_pieces(std::span<const tools::ToolSpec> tools,
                                                             std::span<const Message> messages,
                                                             bool add_generation_prompt) const {
  PieceWriter w(*tokenizer_);
  w.special("[gMASK]");
  w.special("<sop>");
  if (!tools.empty()) {
    w.special("<|system|>");
    w.text(tools_system_text(tools));
  }
  std::size_t last_user = messages.size();  // none
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role == Role::kUser) last_user = i;
  }
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    const bool after_prev_of_same_role = i > 0 && messages[i - 1].role == m.role;
    switch (m.role) {
      case Role::kSystem:
        w.special("<|system|>");
        w.text("\n");
        w.text(m.content);
        break;
      case Role::kUser:
        w.special("<|user|>");
        w.text("\n");
        w.text(m.content);
        if (!options_.enable_thinking && !std::string_view(m.content).ends_with(kNoThink)) w.tag(kNoThink);
        break;
      case Role::kObservation:
        if (!after_prev_of_same_role) w.special("<|observation|>");
        w.text("\n");
        w.tag("<tool_response>");
        w.text("\n");
        w.text(m.content);
        w.text("\n");
        w.tag("</tool_response>");
        break;
      case Role::kAssistant: {
        // A call right after another assistant message continues that block.
        const bool block_start = !m.is_tool_call() || !after_prev_of_same_role;
        if (block_start) {
          w.special("<|assistant|>");
          const std::string_view reasoning = strip(m.reasoning);
          const bool show = (last_user == messages.size() || i > last_user) && !reasoning.empty();
          w.text("\n");
          w.tag("<think>");
          if (show) w.text(reasoning);
          w.tag("</think>");
        }
        if (m.is_tool_call()) {
          write_call(w, m);
        } else if (const std::string_view content = strip(m.content); !content.empty()) {
          w.text("\n");
          w.text(content);
        }
        break;
      }
    }
  }
  if (add_generation_prompt) {
    w.special("<|assistant|>");
    if (!options_.enable_thinking) {
      w.text("\n");
      w.tag("<think>");
      w.tag("</think>");
    }
  }
  return w.take();
}

std::vector<TokenId> ChatTemplate::encode_piece(const Piece& piece) const {
  if (piece.special) {
    const auto id = tokenizer_->special_id(piece.text);
    ALLTOOLS_CHECK_MSG(id.has_value(), "special piece without a special id");
    return {*id};
  }
  return tokenizer_->encode(piece.text);
}

std::vector<TokenId> ChatTemplate::render(std::span<const tools::ToolSpec> tools,
                                          std::span<const Message> messages,
                                          bool add_generation_prompt) const {
  std::vector<TokenId> out;
  for (const Piece& p : render_pieces(tools, messages, add_generation_prompt)) {
    const std::vector<TokenId> ids = encode_piece(p);
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

std::string ChatTemplate::render_text(std::span<const tools::ToolSpec> tools,
                                      std::span<const Message> messages, bool add_generation_prompt) const {
  std::string out;
  for (const Piece& p : render_pieces(tools, messages, add_generation_prompt)) out += p.text;
  return out;
}

std::vector<TokenId> ChatTemplate::stop_ids() const {
  std::vector<TokenId> ids;
  for (std::string_view token : {"<|endoftext|>", "<|user|>", "<|observation|>"})
    ids.push_back(*tokenizer_->special_id(token));
  return ids;
}

glm4::RenderDelta IncrementalRenderer::update(std::span<const tools::ToolSpec> tools,
                                              std::span<const Message> messages, bool add_generation_prompt) {
  std::vector<ChatTemplate::Piece> pieces = template_->render_pieces(tools, messages, add_generation_prompt);
  std::vector<EncodedPiece> encoded;
  encoded.reserve(pieces.size());
  std::vector<TokenId> full;
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    if (k < pieces_.size() && pieces_[k].piece == pieces[k]) {
      encoded.push_back(std::move(pieces_[k]));
    } else {
      std::vector<TokenId> ids = template_->encode_piece(pieces[k]);
      encoded.push_back(EncodedPiece{std::move(pieces[k]), std::move(ids)});
    }
    full.insert(full.end(), encoded.back().ids.begin(), encoded.back().ids.end());
  }
  pieces_ = std::move(encoded);
  return cached_.replace(std::move(full));
}

void IncrementalRenderer::append_generated(std::span<const TokenId> ids) { cached_.append(ids); }

void IncrementalRenderer::rewind(int length) { cached_.rewind(length); }

void IncrementalRenderer::reset() {
  cached_.clear();
  pieces_.clear();
}

}  // namespace alltools::protocol::glm45
