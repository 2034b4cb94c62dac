#include "core/protocol/glm4/output_parser.h"

namespace alltools::protocol::glm4 {
namespace {

constexpr Marker kAllMarkers[] = {Marker::kEndOfText, Marker::kUser, Marker::kAssistant, Marker::kObservation,
                                  Marker::kSystem};

bool is_name_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == ':';
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Whether a (possibly partial) first line can still be a tool name: name bytes, surrounded by optional spaces.
bool could_be_tool_name(std::string_view line, std::size_t max_bytes) {
  const std::string_view t = trim(line);
  if (t.size() > max_bytes) return false;
  std::size_t i = 0;
  while (i < line.size() && is_space(line[i])) ++i;
  bool trailing_space = false;
  for (; i < line.size(); ++i) {
    if (is_space(line[i])) {
      trailing_space = true;
    } else if (trailing_space || !is_name_byte(line[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view marker_token(Marker marker) {
  switch (marker) {
    case Marker::kEndOfText: return "<|endoftext|>";
    case Marker::kUser: return "<|user|>";
    case Marker::kAssistant: return "<|assistant|>";
    case Marker::kObservation: return "<|observation|>";
    case Marker::kSystem: return "<|system|>";
  }
  return "";
}

std::optional<Marker> marker_from_token(std::string_view token) {
  for (Marker m : kAllMarkers) {
    if (marker_token(m) == token) return m;
  }
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, Marker marker) { return os << marker_token(marker); }

std::ostream& operator<<(std::ostream& os, SegmentEnd end) {
  switch (end) {
    case SegmentEnd::kObservation: return os << "observation";
    case SegmentEnd::kUser: return os << "user";
    case SegmentEnd::kEndOfText: return os << "endoftext";
    case SegmentEnd::kAssistant: return os << "assistant";
    case SegmentEnd::kSystem: return os << "system";
    case SegmentEnd::kEndOfStream: return os << "end_of_stream";
  }
  return os << "unknown";
}

std::ostream& operator<<(std::ostream& os, OutputParser::State state) {
  switch (state) {
    case OutputParser::State::kSegmentStart: return os << "segment_start";
    case OutputParser::State::kMetadata: return os << "metadata";
    case OutputParser::State::kAnswer: return os << "answer";
    case OutputParser::State::kToolBody: return os << "tool_body";
    case OutputParser::State::kStopped: return os << "stopped";
  }
  return os << "unknown";
}

std::ostream& operator<<(std::ostream& os, const ParserEvent& event) {
  struct Printer {
    std::ostream& os;
    void operator()(const AnswerDelta& e) { os << "AnswerDelta{" << Message{Role::kAssistant, "", e.text} << "}"; }
    void operator()(const ToolCallStart& e) { os << "ToolCallStart{" << e.name << "}"; }
    void operator()(const ToolCallDelta& e) { os << "ToolCallDelta{" << Message{Role::kAssistant, "", e.text} << "}"; }
    void operator()(const SegmentDone& e) { os << "SegmentDone{" << e.message << ", end=" << e.end << "}"; }
    void operator()(const ReasoningDelta& e) {
      os << "ReasoningDelta{" << Message{Role::kAssistant, "", e.text} << "}";
    }
  };
  std::visit(Printer{os}, event);
  return os;
}

void OutputParser::start_answer(std::string text) {
  state_ = State::kAnswer;
  if (text.empty()) return;
  content_ += text;
  if (!events_.empty()) {
    if (auto* last = std::get_if<AnswerDelta>(&events_.back())) {
      last->text += text;
      return;
    }
  }
  events_.push_back(AnswerDelta{std::move(text)});
}

void OutputParser::push_text(std::string_view text) {
  while (!text.empty()) {
    switch (state_) {
      case State::kStopped:
      case State::kSegmentStart:
        segment_open_ = true;
        metadata_.clear();
        content_.clear();
        state_ = options_.metadata_line ? State::kMetadata : State::kAnswer;
        break;
      case State::kMetadata: {
        const std::size_t nl = text.find('\n');
        const std::string_view part = text.substr(0, nl);
        metadata_.append(part);
        if (!could_be_tool_name(metadata_, options_.max_tool_name_bytes)) {
          // Not a metadata line: the model skipped the separator and this is answer text.
          std::string line = std::move(metadata_);
          metadata_.clear();
          start_answer(std::move(line));
          text.remove_prefix(part.size());
          break;
        }
        if (nl == std::string_view::npos) return;  // need more input
        text.remove_prefix(nl + 1);
        const std::string name(trim(metadata_));
        metadata_ = name;
        if (name.empty()) {
          state_ = State::kAnswer;
        } else {
          state_ = State::kToolBody;
          events_.push_back(ToolCallStart{name});
        }
        break;
      }
      case State::kAnswer:
        start_answer(std::string(text));
        return;
      case State::kToolBody:
        content_.append(text);
        if (!events_.empty()) {
          if (auto* last = std::get_if<ToolCallDelta>(&events_.back())) {
            last->text.append(text);
            return;
          }
        }
        events_.push_back(ToolCallDelta{std::string(text)});
        return;
    }
  }
}

void OutputParser::end_segment(SegmentEnd end) {
  if (!segment_open_) return;
  segment_open_ = false;
  if (state_ == State::kMetadata) {
    // The first line never ended. Before <|observation|> it names a call with an empty body; otherwise it was
    // a short answer without the separator line.
    const std::string name(trim(metadata_));
    if (end == SegmentEnd::kObservation && !name.empty()) {
      events_.push_back(ToolCallStart{name});
      metadata_ = name;
      state_ = State::kToolBody;
    } else {
      std::string text = std::move(metadata_);
      metadata_.clear();
      start_answer(std::move(text));
    }
  }
  Message message{Role::kAssistant, state_ == State::kToolBody ? metadata_ : std::string(), std::move(content_)};
  events_.push_back(SegmentDone{std::move(message), end});
  metadata_.clear();
  content_.clear();
}

void OutputParser::push_marker(Marker marker) {
  switch (marker) {
    case Marker::kAssistant:
      end_segment(SegmentEnd::kAssistant);
      state_ = State::kSegmentStart;
      return;
    case Marker::kObservation: end_segment(SegmentEnd::kObservation); break;
    case Marker::kUser: end_segment(SegmentEnd::kUser); break;
    case Marker::kEndOfText: end_segment(SegmentEnd::kEndOfText); break;
    case Marker::kSystem: end_segment(SegmentEnd::kSystem); break;
  }
  state_ = State::kStopped;
}

void OutputParser::finish() {
  end_segment(SegmentEnd::kEndOfStream);
  state_ = State::kStopped;
}

std::vector<ParserEvent> OutputParser::take_events() {
  std::vector<ParserEvent> out;
  out.swap(events_);
  return out;
}

void OutputParser::reset() {
  state_ = State::kSegmentStart;
  metadata_.clear();
  content_.clear();
  segment_open_ = false;
  events_.clear();
}

void TokenFeeder::push(model::TokenId id) {
  if (tokenizer_->is_special(id)) {
    const std::string held = decoder_.flush();
    if (!held.empty()) parser_->push_text(held);
    const model::TokenId one[1] = {id};
    const std::string token = tokenizer_->decode_bytes(one);
    if (const auto marker = marker_from_token(token)) {
      parser_->push_marker(*marker);
    } else {
      parser_->push_text(token);
    }
    return;
  }
  const std::string text = decoder_.push(id);
  if (!text.empty()) parser_->push_text(text);
}

void TokenFeeder::push(std::span<const model::TokenId> ids) {
  for (model::TokenId id : ids) push(id);
}

void TokenFeeder::finish() {
  const std::string held = decoder_.flush();
  if (!held.empty()) parser_->push_text(held);
  parser_->finish();
}

}  // namespace alltools::protocol::glm4
