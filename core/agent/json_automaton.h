// JsonAutomaton: a byte-level pushdown automaton for the values a JsonSchemaGrammar describes. Function arguments
// are decoded under it token by token: a token is legal iff every one of its bytes advances the state (tokens may
// split UTF-8 characters, escapes and JSON tokens anywhere).
//
// A State is a stack of fixed-size Frames; the bottom one (the root) holds the value to write, the leading and
// trailing whitespace, and never pops. Whitespace between JSON tokens is allowed up to kMaxWhitespaceRun bytes per
// gap (a model cannot stall in whitespace); `kEnd` is the pseudo-byte of the end of the text (the call's
// <|observation|>), accepted exactly when the value is complete.
//
// No dead ends: from every state the automaton reaches there is a byte sequence to a complete value (the grammar
// drops unsatisfiable schemas; containers of plain JSON stop nesting at kMaxAnyDepth). With a byte-level BPE
// vocabulary (every single byte is a token) a mask built from it therefore never leaves the model without a legal
// token.
//
// Thread-safety: immutable; states are values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/agent/json_schema_grammar.h"

namespace alltools::agent {

inline constexpr int kEnd = 256;                 // pseudo-byte: the end of the text
inline constexpr std::uint8_t kMaxWhitespaceRun = 16;
inline constexpr std::size_t kMaxAnyDepth = 32;  // plain-JSON containers open only below this stack depth
inline constexpr std::size_t kMaxNumberText = 32;

// One open value. Trivially copyable; fields a mode does not use stay zero, so equal states have equal bytes.
struct Frame {
  std::int32_t node = 0;   // grammar node (the root: the value's node)
  std::uint8_t mode = 0;   // where inside the value (json_automaton.cc)
  std::uint8_t ws = 0;     // whitespace bytes in the current gap
  std::uint8_t len = 0;    // key / literal bytes matched, number text length, hex digits read
  std::uint8_t utf8 = 0;   // string: continuation bytes still expected
  std::uint8_t lo = 0, hi = 0;  // string: range of the next continuation byte
  std::uint16_t cur = 0;   // object: property being written; string: reading a low surrogate
  std::uint32_t count = 0; // array items / string code points, saturated where no upper bound needs them
  std::uint32_t code = 0;  // string: \u escape value so far
  std::uint32_t reserved = 0;  // keeps the layout free of padding (key() compares bytes)
  std::uint64_t seen = 0;  // object: properties written (bit per property)
  std::uint64_t cand = 0;  // object key / literal: alternatives still matching
  char text[kMaxNumberText] = {};  // number: its text so far
};

struct State {
  std::vector<Frame> frames;
  // Frames below these (for the local analyses of core/agent/token_mask.h, which run one frame alone): counts
  // toward kMaxAnyDepth.
  std::uint32_t base_depth = 0;
  std::size_t depth() const { return base_depth + frames.size(); }
  // The bytes that identify the state (for caches).
  std::string key() const;
};

enum class StepResult : std::uint8_t {
  kOk,
  kReject,
  kPopped,  // the bottom frame completed (only when it is not a root: a one-frame state of a local analysis)
};

class JsonAutomaton {
 public:
  explicit JsonAutomaton(const JsonSchemaGrammar& grammar) : grammar_(grammar) {}

  // Before a value of `node`: leading whitespace, then the value, then trailing whitespace and kEnd.
  State start(int node) const;
  // Feeds one byte (0..255) or kEnd. On kReject the state is unspecified (step a copy to keep the original).
  StepResult step(State& state, int byte) const;
  // Whether the text may end here (kEnd would be accepted).
  bool can_end(const State& state) const;
  // Whether the frame holds a scalar (string, number, literal): it never opens another frame, so how deep it sits
  // does not change what it accepts.
  static bool is_scalar(const Frame& frame);
  // Feeds every byte of `bytes`; false on the first rejected one.
  bool feed(State& state, std::string_view bytes) const;

  const JsonSchemaGrammar& grammar() const { return grammar_; }

 private:
  enum class Feed : std::uint8_t { kConsumed, kReject, kDoneConsumed, kDoneRefeed };
  Feed feed_frame(State& state, int byte) const;
  bool push_value(State& state, int node, int byte) const;
  Feed feed_string(Frame& f, int byte) const;
  Feed feed_number(Frame& f, int byte) const;
  Feed feed_literals(Frame& f, int byte) const;

  const JsonSchemaGrammar& grammar_;
};

}  // namespace alltools::agent
