#include "core/protocol/glm4/output_parser.h"

namespace alltools::protocol::glm4 {
namespace {

constexpr Marker kMarkers[] = {Marker::kEndOfText, Marker::kUser, Marker::kAssistant, Marker::kObservation,
                               Marker::kSystem};

void add_text(std::vector<StreamPiece>& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && !out.back().marker) {
    out.back().text.append(text);
  } else {
    out.push_back(StreamPiece{std::string(text), std::nullopt});
  }
}

}  // namespace

std::vector<StreamPiece> SpecialTokenSplitter::push(std::string_view chunk) {
  std::string data = std::move(pending_);
  pending_.clear();
  data.append(chunk);
  std::vector<StreamPiece> out;
  std::size_t start = 0;  // first byte not yet emitted
  std::size_t i = data.find('<');
  while (i != std::string::npos) {
    const std::string_view rest = std::string_view(data).substr(i);
    bool matched = false;
    bool partial = false;
    for (Marker m : kMarkers) {
      const std::string_view token = marker_token(m);
      if (rest.substr(0, token.size()) == token) {
        add_text(out, std::string_view(data).substr(start, i - start));
        out.push_back(StreamPiece{"", m});
        start = i + token.size();
        matched = true;
        break;
      }
      if (rest.size() < token.size() && token.substr(0, rest.size()) == rest) partial = true;
    }
    if (!matched && partial) {  // the tail may be the start of a marker: hold it back
      add_text(out, std::string_view(data).substr(start, i - start));
      pending_ = data.substr(i);
      return out;
    }
    i = data.find('<', matched ? start : i + 1);
  }
  add_text(out, std::string_view(data).substr(start));
  return out;
}

std::vector<StreamPiece> SpecialTokenSplitter::finish() {
  std::vector<StreamPiece> out;
  add_text(out, pending_);
  pending_.clear();
  return out;
}

void feed(StreamParser& parser, std::span<const StreamPiece> pieces) {
  for (const StreamPiece& p : pieces) {
    if (p.marker) {
      parser.push_marker(*p.marker);
    } else {
      parser.push_text(p.text);
    }
  }
}

}  // namespace alltools::protocol::glm4
