// Streaming parser for what GLM-4 writes after `<|assistant|>` (../shared/docs/glm4-protocol.md §3).
// It is fed decoded text and the special-token boundaries, and yields events:
//   AnswerDelta    answer text, as it arrives (stream it to the user)
//   ToolCallStart  the metadata line of a tool call is complete: its name
//   ToolCallDelta  tool-call body text, as it arrives (for progress displays; optional to consume)
//   SegmentDone    a segment ended: the complete assistant Message (answer: metadata ""; call: metadata = name)
//                  and what ended it
// Segment grammar: a first line (metadata) then `\n`; an empty first line = answer, otherwise a tool call named
// by it. Answers end at <|user|> / <|endoftext|>; calls end at <|observation|>; a generated <|assistant|> ends
// the current segment and starts a new one (one sample may hold an answer and then a call); a <|system|>
// also ends it. Stops (<|user|>, <|endoftext|>, <|observation|>) put the parser in kStopped; text after a stop
// starts a new segment.
// Robustness: a first line that cannot be a tool name (a byte outside [A-Za-z0-9_.:-], or longer than
// max_tool_name_bytes) makes the segment an answer that includes that line (the model skipped the newline).
//
// Two ways in:
//   local model   TokenFeeder: token ids -> incremental UTF-8 text + markers for special ids
//   remote text   SpecialTokenSplitter: a text stream in which special tokens arrive as literal strings
//                 (possibly split across chunks) -> text pieces and markers
// Not thread-safe; one parser per generation stream (reset() to reuse).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/protocol/glm4/message.h"
#include "core/protocol/glm4/tool_call.h"
#include "model/language_model.h"
#include "model/tokenizer.h"
#include "model/tokenizer/utf8_stream_decoder.h"

namespace alltools::protocol::glm4 {

// Special tokens that matter to the parser.
enum class Marker : std::uint8_t { kEndOfText, kUser, kAssistant, kObservation, kSystem };
std::string_view marker_token(Marker marker);  // "<|endoftext|>", "<|user|>", ...
std::optional<Marker> marker_from_token(std::string_view token);
std::ostream& operator<<(std::ostream& os, Marker marker);

// What ended a segment.
enum class SegmentEnd : std::uint8_t { kObservation, kUser, kEndOfText, kAssistant, kSystem, kEndOfStream };
std::ostream& operator<<(std::ostream& os, SegmentEnd end);

struct AnswerDelta {
  std::string text;
  friend bool operator==(const AnswerDelta&, const AnswerDelta&) = default;
};
struct ToolCallStart {
  std::string name;
  friend bool operator==(const ToolCallStart&, const ToolCallStart&) = default;
};
struct ToolCallDelta {
  std::string text;
  friend bool operator==(const ToolCallDelta&, const ToolCallDelta&) = default;
};
// Reasoning text (GLM-4.5's <think> block), as it arrives; GLM-4 never produces it. Never executed: a tool call
// written inside the reasoning is reasoning text.
struct ReasoningDelta {
  std::string text;
  friend bool operator==(const ReasoningDelta&, const ReasoningDelta&) = default;
};
struct SegmentDone {
  Message message;  // Role::kAssistant
  SegmentEnd end = SegmentEnd::kEndOfStream;

  bool is_tool_call() const { return message.is_tool_call(); }
  ToolCall tool_call() const { return ToolCall{message.metadata, message.content}; }
  friend bool operator==(const SegmentDone&, const SegmentDone&) = default;
};
using ParserEvent = std::variant<AnswerDelta, ToolCallStart, ToolCallDelta, SegmentDone, ReasoningDelta>;
std::ostream& operator<<(std::ostream& os, const ParserEvent& event);

// The streaming parser of one prompt format (GLM-4: OutputParser below; GLM-4.5: glm45::OutputParser). Fed text
// and special-token markers, it yields ParserEvents; TokenFeeder and feed() drive any of them.
class StreamParser {
 public:
  virtual ~StreamParser() = default;
  virtual void push_text(std::string_view text) = 0;
  virtual void push_marker(Marker marker) = 0;
  // End of stream (max tokens, cancellation, closed connection): completes the open segment (kEndOfStream).
  virtual void finish() = 0;
  // Events produced since the last call, in order.
  virtual std::vector<ParserEvent> take_events() = 0;
  // A stop marker or finish() ended the stream.
  virtual bool stopped() const = 0;
  virtual void reset() = 0;
};

struct ParserOptions {
  std::size_t max_tool_name_bytes = 64;
  // false: there is no metadata line (GLM-4-0414 plain chat, whose generation prompt already ends in "\n"):
  // every segment is an answer.
  bool metadata_line = true;
};

class OutputParser final : public StreamParser {
 public:
  enum class State : std::uint8_t {
    kSegmentStart,  // need more input: nothing of the current segment seen yet
    kMetadata,      // need more input: reading the first line (answer or tool name not yet known)
    kAnswer,        // inside an answer
    kToolBody,      // inside a tool call body
    kStopped,       // a stop marker or finish() ended the stream
  };

  explicit OutputParser(ParserOptions options = {}) : options_(options) {}

  void push_text(std::string_view text) override;
  void push_marker(Marker marker) override;
  void finish() override;

  std::vector<ParserEvent> take_events() override;
  State state() const { return state_; }
  bool stopped() const override { return state_ == State::kStopped; }
  void reset() override;

 private:
  void start_answer(std::string text);
  void end_segment(SegmentEnd end);

  ParserOptions options_;
  State state_ = State::kSegmentStart;
  std::string metadata_;
  std::string content_;
  bool segment_open_ = false;
  std::vector<ParserEvent> events_;
};
std::ostream& operator<<(std::ostream& os, OutputParser::State state);

// Local model: feeds token ids to a parser. Ordinary tokens go through a Utf8StreamDecoder (never splitting a
// character); special ids that are markers flush the decoder and become push_marker(); other special tokens
// (e.g. <|begin_of_image|>) are passed as their literal text. Tokenizer and parser must outlive the feeder.
class TokenFeeder {
 public:
  TokenFeeder(const model::Tokenizer& tokenizer, StreamParser& parser)
      : tokenizer_(&tokenizer), parser_(&parser), decoder_(tokenizer) {}
  void push(model::TokenId id);
  void push(std::span<const model::TokenId> ids);
  // Flushes a held-back partial character (as U+FFFD) and calls parser.finish().
  void finish();

 private:
  const model::Tokenizer* tokenizer_;
  StreamParser* parser_;
  model::TokenStreamDecoder decoder_;
};

// Remote text stream: cuts the literal strings of the markers out of streamed text. A chunk's tail that could
// be the start of a marker ("<|obs") is held back until the next chunk decides it (need more input).
struct StreamPiece {
  std::string text;              // when !marker
  std::optional<Marker> marker;  // set for a marker piece
  friend bool operator==(const StreamPiece&, const StreamPiece&) = default;
};
class SpecialTokenSplitter {
 public:
  std::vector<StreamPiece> push(std::string_view chunk);
  // End of stream: returns held-back text (which was not a marker).
  std::vector<StreamPiece> finish();
  bool has_pending() const { return !pending_.empty(); }

 private:
  std::string pending_;
};
// Feeds pieces into a parser in order.
void feed(StreamParser& parser, std::span<const StreamPiece> pieces);

}  // namespace alltools::protocol::glm4
