#include "core/protocol/glm45/output_parser.h"

#include "core/protocol/glm45/tool_call.h"

namespace alltools::protocol::glm45 {
namespace {

using glm4::Message;
using glm4::Role;
using glm4::SegmentEnd;

constexpr std::string_view kThinkOpen = "<think>", kThinkClose = "</think>";
constexpr std::string_view kCallOpen = "<tool_call>", kCallClose = "</tool_call>";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the longest proper prefix of `tag` that `text` ends with (a tag that may continue in the next
// chunk).
std::size_t partial_tag(std::string_view text, std::string_view tag) {
  for (std::size_t k = std::min(text.size(), tag.size() - 1); k > 0; --k) {
    if (text.substr(text.size() - k) == tag.substr(0, k)) return k;
  }
  return 0;
}

// The largest n' <= n such that text[0, n') does not end inside a UTF-8 sequence that continues after n.
std::size_t utf8_boundary(std::string_view text, std::size_t n) {
  std::size_t start = n;
  for (int back = 0; back < 4 && start > 0; ++back) {
    const auto c = static_cast<unsigned char>(text[start - 1]);
    if ((c & 0xC0) != 0x80) {  // a lead byte (or ASCII): is its sequence complete within [0, n)?
      const std::size_t len = c < 0x80           ? 1
                              : (c >> 5) == 0x6  ? 2
                              : (c >> 4) == 0xE  ? 3
                              : (c >> 3) == 0x1E ? 4
                                                 : 1;
      return (start - 1) + len > n ? start - 1 : n;
    }
    --start;
  }
  return n;  // not UTF-8 we can judge: pass it on
}

// How much of buffer_ a streaming state may emit now: all but a possible partial `tag` and a partial
// character.
std::size_t safe_length(std::string_view buffer, std::string_view tag, bool at_end) {
  if (at_end) return buffer.size();
  return utf8_boundary(buffer, buffer.size() - partial_tag(buffer, tag));
}

}  // namespace

void OutputParser::start_block() {
  state_ = State::kStart;
  block_open_ = true;
  reasoning_.clear();
  reasoning_taken_ = false;
  answer_.clear();
  held_space_.clear();
  name_.clear();
  body_.clear();
}

std::string OutputParser::take_reasoning() {
  if (reasoning_taken_) return {};
  reasoning_taken_ = true;
  return std::string(trim(reasoning_));
}

void OutputParser::release_held() {
  if (held_) events_.push_back(glm4::SegmentDone{std::move(*held_), SegmentEnd::kAssistant});
  held_.reset();
}

void OutputParser::complete(Message message) {
  release_held();
  held_ = std::move(message);
}

OutputParser::Opening OutputParser::opening(std::string_view tag, bool at_end) {
  std::size_t i = 0;
  while (i < buffer_.size() && is_space(buffer_[i])) ++i;
  buffer_.erase(0, i);
  if (buffer_.empty()) return Opening::kNeedMore;
  if (buffer_.starts_with(tag)) {
    buffer_.erase(0, tag.size());
    return Opening::kFound;
  }
  if (!at_end && tag.starts_with(buffer_)) return Opening::kNeedMore;
  return Opening::kOther;
}

template <typename Delta>
bool OutputParser::stream_until(std::string_view tag, std::string& sink, bool at_end) {
  const std::size_t found = buffer_.find(tag);
  const std::size_t n = found != std::string::npos ? found : safe_length(buffer_, tag, at_end);
  if (n > 0) {
    sink.append(buffer_, 0, n);
    std::string delta = buffer_.substr(0, n);
    if (auto* last = events_.empty() ? nullptr : std::get_if<Delta>(&events_.back())) {
      last->text += delta;
    } else {
      events_.push_back(Delta{std::move(delta)});
    }
    buffer_.erase(0, n);
  }
  if (found == std::string::npos) return false;
  buffer_.erase(0, tag.size());
  return true;
}

void OutputParser::complete_call() {
  if (!name_.empty()) {
    auto pairs = try_parse_arg_pairs(body_);
    std::string body = pairs.ok() ? format_arg_pairs(*pairs) : std::move(body_);
    complete(Message{Role::kAssistant, name_, std::move(body), take_reasoning()});
  }
  name_.clear();
  body_.clear();
}

void OutputParser::answer_text(std::string_view text) {
  if (answer_.empty() && held_space_.empty()) {  // leading whitespace is not part of the answer
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  }
  if (text.empty()) return;
  std::string pending = std::move(held_space_);
  held_space_.clear();
  pending.append(text);
  std::size_t end = pending.size();
  while (end > 0 && is_space(pending[end - 1])) --end;
  held_space_ = pending.substr(end);
  pending.resize(end);
  if (pending.empty()) return;
  if (answer_.empty()) release_held();  // a new segment starts: the previous one is done
  answer_ += pending;
  if (!events_.empty()) {
    if (auto* last = std::get_if<glm4::AnswerDelta>(&events_.back())) {
      last->text += pending;
      return;
    }
  }
  events_.push_back(glm4::AnswerDelta{std::move(pending)});
}

void OutputParser::process(bool at_end) {
  // Each pass consumes input or returns; bounded by the buffer length.
  while (true) {
    switch (state_) {
      case State::kStopped:
        if (buffer_.empty()) return;
        start_block();
        break;
      case State::kStart: {
        const Opening o = opening(kThinkOpen, at_end);
        if (o == Opening::kNeedMore) return;
        state_ = o == Opening::kFound ? State::kThink : State::kAnswer;
        break;
      }
      case State::kThink:
        if (!stream_until<glm4::ReasoningDelta>(kThinkClose, reasoning_, at_end)) return;
        state_ = State::kAnswer;
        break;
      case State::kAnswer: {
        const std::size_t open = buffer_.find(kCallOpen);
        const std::size_t n = open != std::string::npos ? open : safe_length(buffer_, kCallOpen, at_end);
        answer_text(std::string_view(buffer_).substr(0, n));
        buffer_.erase(0, n);
        if (open == std::string::npos) return;
        buffer_.erase(0, kCallOpen.size());
        if (!answer_.empty()) complete(Message{Role::kAssistant, "", std::move(answer_), take_reasoning()});
        answer_.clear();
        held_space_.clear();
        name_.clear();
        body_.clear();
        state_ = State::kCallName;
        break;
      }
      case State::kCallName: {
        const std::size_t end = buffer_.find_first_of("\n<");
        if (end == std::string::npos && name_.size() + buffer_.size() <= kMaxToolNameBytes && !at_end) {
          name_ += buffer_;
          buffer_.clear();
          return;
        }
        const std::size_t n = end == std::string::npos ? buffer_.size() : end;
        name_.append(buffer_, 0, n);
        buffer_.erase(0, n);
        if (!buffer_.empty() && buffer_.front() == '\n') buffer_.erase(0, 1);
        name_ = std::string(trim(name_));
        if (!name_.empty()) {
          release_held();
          events_.push_back(glm4::ToolCallStart{name_});
        }
        state_ = State::kCallBody;
        break;
      }
      case State::kCallBody:
        if (!stream_until<glm4::ToolCallDelta>(kCallClose, body_, at_end)) return;
        complete_call();
        state_ = State::kAfterCall;
        break;
      case State::kAfterCall: {
        const Opening o = opening(kCallOpen, at_end);
        if (o == Opening::kNeedMore) return;
        state_ = o == Opening::kFound ? State::kCallName : State::kAnswer;  // text after calls: a new answer
        break;
      }
    }
  }
}

void OutputParser::push_text(std::string_view text) {
  if (text.empty()) return;
  if (state_ == State::kStopped) start_block();
  block_open_ = true;
  buffer_.append(text);
  process(/*at_end=*/false);
}

void OutputParser::end_block(SegmentEnd end) {
  process(/*at_end=*/true);
  if (block_open_) {
    switch (state_) {
      case State::kStart:
      case State::kThink:
      case State::kAnswer:
        // The answer (possibly empty) closes the block unless the block already holds a segment and has no
        // text of its own.
        if (!answer_.empty() || !held_ || (!reasoning_taken_ && !trim(reasoning_).empty()))
          complete(Message{Role::kAssistant, "", std::move(answer_), take_reasoning()});
        break;
      case State::kCallName:
      case State::kCallBody:  // an unterminated call: what arrived is the call
        name_ = std::string(trim(name_));
        complete_call();
        break;
      case State::kAfterCall:
      case State::kStopped:
        break;
    }
  }
  if (held_) events_.push_back(glm4::SegmentDone{std::move(*held_), end});
  held_.reset();
  buffer_.clear();
  block_open_ = false;
  start_block();
  block_open_ = false;
  state_ = State::kStopped;
}

void OutputParser::push_marker(glm4::Marker marker) {
  switch (marker) {
    case glm4::Marker::kAssistant:
      end_block(SegmentEnd::kAssistant);
      state_ = State::kStart;
      return;
    case glm4::Marker::kObservation:
      end_block(SegmentEnd::kObservation);
      return;
    case glm4::Marker::kUser:
      end_block(SegmentEnd::kUser);
      return;
    case glm4::Marker::kEndOfText:
      end_block(SegmentEnd::kEndOfText);
      return;
    case glm4::Marker::kSystem:
      end_block(SegmentEnd::kSystem);
      return;
  }
}

void OutputParser::finish() { end_block(SegmentEnd::kEndOfStream); }

std::vector<glm4::ParserEvent> OutputParser::take_events() {
  std::vector<glm4::ParserEvent> out;
  out.swap(events_);
  return out;
}

void OutputParser::reset() {
  start_block();
  block_open_ = false;
  buffer_.clear();
  held_.reset();
  events_.clear();
}

}  // namespace alltools::protocol::glm45
