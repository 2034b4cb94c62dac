// Streaming parser for what GLM-4.5/4.6 writes after `<|assistant|>` (layout: glm45/chat_template.h):
//   [\n<think>{reasoning}</think>] [\n{answer}]
//   (\n<tool_call>{name}\n<arg_key>…</arg_key>\n<arg_value>…</arg_value>\n</tool_call>)*
// then a stop marker: <|observation|> after calls, <|user|> / <|endoftext|> after an answer.
// Events (glm4/output_parser.h): ReasoningDelta while inside <think> (never executed: a <tool_call> in there
// is reasoning text), AnswerDelta for the answer (stripped of leading and trailing whitespace as the template
// stores it; trailing whitespace is held back until more text follows), ToolCallStart when a call's name is
// complete, ToolCallDelta for its raw argument text, SegmentDone per segment: the answer (content = answer,
// reasoning = the block's reasoning) and each call (metadata = name, content = canonical body,
// glm45/tool_call.h; a body that is not well-formed pairs is kept raw so the argument parser can name the
// problem). The block's reasoning goes to its first segment. A segment followed by another in the same block
// ends with SegmentEnd::kAssistant; the last one with the marker (kEndOfStream at finish()). A generated
// <|assistant|> starts a new block. Reasoning alone (no answer, no call) is an empty answer carrying it.
// Input may be split anywhere, inside tags and inside UTF-8 sequences: deltas only ever hold whole characters
// and whole tags. Not thread-safe; one parser per generation stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/glm4/output_parser.h"

namespace alltools::protocol::glm45 {

// Named limit: a call name longer than this is not a name (the rest is read as arguments text).
inline constexpr std::size_t kMaxToolNameBytes = 256;

class OutputParser final : public glm4::StreamParser {
 public:
  enum class State : std::uint8_t {
    kStart,      // need more input: block start (optional whitespace, then <think> or the answer)
    kThink,      // inside <think>
    kAnswer,     // answer text
    kCallName,   // after <tool_call>, reading the name
    kCallBody,   // reading <arg_key>/<arg_value> pairs up to </tool_call>
    kAfterCall,  // after </tool_call>: whitespace, another <tool_call>, or (unusually) more answer text
    kStopped,
  };

  void push_text(std::string_view text) override;
  void push_marker(glm4::Marker marker) override;
  void finish() override;
  std::vector<glm4::ParserEvent> take_events() override;
  bool stopped() const override { return state_ == State::kStopped; }
  void reset() override;
  State state() const { return state_; }

 private:
  // Consumes buffer_ as far as the input allows; at_end: no more input follows, partial tags are text.
  void process(bool at_end);
  enum class Opening : std::uint8_t { kFound, kNeedMore, kOther };
  // After leading whitespace: `tag` (consumed), not decidable yet, or something else.
  Opening opening(std::string_view tag, bool at_end);
  // Moves text up to `tag` (or as much as cannot be part of it or of a UTF-8 character) into `sink` and a
  // Delta event; true when the tag was reached (and consumed).
  template <typename Delta>
  bool stream_until(std::string_view tag, std::string& sink, bool at_end);
  void complete_call();  // name_ + body_ -> a finished call segment (none if the name is empty)
  void answer_text(std::string_view text);
  void release_held();                   // SegmentDone for the held segment (a next one has started)
  void complete(glm4::Message message);  // a finished segment: held until the next starts or the block ends
  void end_block(glm4::SegmentEnd end);
  void start_block();
  std::string take_reasoning();

  State state_ = State::kStart;
  std::string buffer_;
  std::string reasoning_;  // of the current block, until a segment takes it
  bool reasoning_taken_ = false;
  bool block_open_ = false;  // any input seen in the current block
  std::string answer_;       // emitted answer text (already stripped at the front)
  std::string held_space_;   // trailing whitespace not yet emitted
  std::string name_;
  std::string body_;
  std::optional<glm4::Message>
      held_;  // the last finished segment, released when the next one starts or at the end
  std::vector<glm4::ParserEvent> events_;
};

}  // namespace alltools::protocol::glm45
