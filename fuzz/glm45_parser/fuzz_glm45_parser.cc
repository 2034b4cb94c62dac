// libFuzzer target for GLM-4.5 output (what a model or a remote server can send). Input: byte 0 picks the
// chunk size; the rest is the text after <|assistant|>. Checked invariants (abort = finding):
//   - the parser never crashes; fed in chunks it yields the same segments and deltas as fed whole; deltas are
//     valid UTF-8 when the input is; answer deltas concatenate to the answers,
//   - every call's body gives arguments or an Error, and arguments format back into a body,
//   - the segments render (glm45::ChatTemplate) to text that parses back to the same segments.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/protocol/glm45/chat_template.h"
#include "core/protocol/glm45/output_parser.h"
#include "core/protocol/glm45/tool_call.h"
#include "model/tokenizer/utf8_stream_decoder.h"

namespace {

using namespace alltools;
using protocol::glm4::Message;

// Enough of a tokenizer for render_text(): the role tokens are special, nothing else.
class RoleTokens final : public model::Tokenizer {
 public:
  std::vector<model::TokenId> encode(std::string_view) const override { return {}; }
  std::vector<model::TokenId> encode_with_special(std::string_view) const override { return {}; }
  std::string decode_bytes(std::span<const model::TokenId>) const override { return {}; }
  std::optional<model::TokenId> special_id(std::string_view token) const override {
    for (std::string_view s : {"[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>",
                               "<|observation|>", "<|endoftext|>"}) {
      if (s == token) return 1;
    }
    return std::nullopt;
  }
  bool is_special(model::TokenId) const override { return false; }
  int vocab_size() const override { return 2; }
};

struct Run {
  std::vector<Message> segments;
  std::string answer, reasoning, body;
  bool operator==(const Run&) const = default;
};

Run parse(std::string_view text, std::size_t chunk, bool check_utf8) {
  protocol::glm45::OutputParser parser;
  Run run;
  std::string answer_of_segment;
  auto drain = [&] {
    for (auto& e : parser.take_events()) {
      if (auto* a = std::get_if<protocol::glm4::AnswerDelta>(&e)) {
        ALLTOOLS_CHECK(!check_utf8 || model::is_valid_utf8(a->text));
        run.answer += a->text;
        answer_of_segment += a->text;
      } else if (auto* r = std::get_if<protocol::glm4::ReasoningDelta>(&e)) {
        ALLTOOLS_CHECK(!check_utf8 || model::is_valid_utf8(r->text));
        run.reasoning += r->text;
      } else if (auto* b = std::get_if<protocol::glm4::ToolCallDelta>(&e)) {
        run.body += b->text;
      } else if (auto* d = std::get_if<protocol::glm4::SegmentDone>(&e)) {
        if (!d->is_tool_call()) {
          ALLTOOLS_CHECK_MSG(answer_of_segment == d->message.content, "answer deltas differ from the answer");
          answer_of_segment.clear();
        }
        run.segments.push_back(d->message);
      }
    }
  };
  for (std::size_t i = 0; i < text.size(); i += chunk) {
    parser.push_text(text.substr(i, chunk));
    drain();
  }
  parser.finish();
  drain();
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 4096) return 0;
  const std::size_t chunk = 1 + data[0] % 16;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool utf8 = model::is_valid_utf8(text);
  const Run whole = parse(text, text.size() + 1, utf8);
  ALLTOOLS_CHECK_MSG(parse(text, chunk, utf8) == whole, "chunked parse differs from whole");

  const std::vector<tools::ToolSpec> specs = {
      {"f", tools::ToolSpec::Kind::kFunction, nlohmann::ordered_json::object()}};
  for (const Message& m : whole.segments) {
    if (!m.is_tool_call()) continue;
    auto args = protocol::glm45::tool_call_arguments({"f", m.content}, specs);
    if (args.ok()) ALLTOOLS_CHECK(protocol::glm45::body_from_arguments(nlohmann::ordered_json(*args)).ok());
  }

  // The round trip cuts the rendering at "<|assistant|>": a literal one in the text (a special token only
  // as an id) would cut it wrongly.
  if (text.find("<|assistant|>") != std::string_view::npos) return 0;
  static const RoleTokens tokens;
  static const auto t = protocol::glm45::ChatTemplate::create(tokens);
  const std::string rendered = t->render_text({}, whole.segments, false);
  std::vector<Message> again;
  std::size_t pos = 0;
  while ((pos = rendered.find("<|assistant|>", pos)) != std::string::npos) {
    pos += 13;
    const std::size_t end = rendered.find("<|assistant|>", pos);
    const Run block = parse(
        std::string_view(rendered).substr(pos, end == std::string::npos ? std::string::npos : end - pos),
        rendered.size() + 1, false);
    again.insert(again.end(), block.segments.begin(), block.segments.end());
  }
  ALLTOOLS_CHECK_MSG(again == whole.segments, "render -> parse does not give the segments back");
  return 0;
}
