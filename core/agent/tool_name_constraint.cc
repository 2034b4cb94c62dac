#include "core/agent/tool_name_constraint.h"

#include <algorithm>
#include <cmath>

namespace alltools::agent {

ToolNameConstraint::ToolNameConstraint(const model::Tokenizer& tokenizer, std::vector<std::string> names,
                                       model::TokenId assistant, bool starts_in_header)
    : names_(std::move(names)), assistant_(assistant), starts_in_header_(starts_in_header) {
  const int vocab = tokenizer.vocab_size();
  pieces_.resize(static_cast<std::size_t>(vocab));
  special_.resize(static_cast<std::size_t>(vocab));
  for (int id = 0; id < vocab; ++id) {
    special_[id] = tokenizer.is_special(id);
    if (!special_[id]) {
      const model::TokenId one[] = {id};
      pieces_[id] = tokenizer.decode_bytes(one);
    }
  }
}

std::optional<std::string> ToolNameConstraint::header(std::span<const model::TokenId> generated) const {
  std::size_t start = 0;
  bool in_header = starts_in_header_;
  for (std::size_t i = generated.size(); i > 0; --i) {
    if (generated[i - 1] == assistant_) {
      start = i;
      in_header = true;
      break;
    }
  }
  if (!in_header) return std::nullopt;
  std::string text;
  for (std::size_t i = start; i < generated.size(); ++i) {
    const model::TokenId id = generated[i];
    if (id < 0 || static_cast<std::size_t>(id) >= pieces_.size() || special_[id]) return std::nullopt;
    text += pieces_[id];
    if (text.find('\n') != std::string::npos) return std::nullopt;  // the header line is complete
  }
  return text;
}

bool ToolNameConstraint::allowed(const std::string& header, model::TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= pieces_.size() || special_[id] || pieces_[id].empty()) return false;
  // header + piece, without building it (this runs for every id of the vocabulary): the part of the piece before
  // its first newline extends the header; with a newline the line is complete and must be empty or a name.
  const std::string_view piece = pieces_[id];
  const std::size_t newline = piece.find('\n');
  const std::string_view tail = piece.substr(0, newline);
  const auto extends = [&](std::string_view name) {
    return name.size() >= header.size() + tail.size() && name.compare(0, header.size(), header) == 0 &&
           name.compare(header.size(), tail.size(), tail) == 0;
  };
  if (newline != std::string_view::npos) {
    if (header.empty() && tail.empty()) return true;  // an answer
    return std::any_of(names_.begin(), names_.end(), [&](const std::string& n) {
      return n.size() == header.size() + tail.size() && extends(n);
    });
  }
  return std::any_of(names_.begin(), names_.end(), [&](const std::string& n) { return extends(n); });
}

model::LogitsFilter ToolNameConstraint::filter() const {
  model::LogitsFilter f;
  f.wants = [this](std::span<const model::TokenId> generated) { return header(generated).has_value(); };
  f.apply = [this](std::span<const model::TokenId> generated, std::span<float> logits) {
    const std::optional<std::string> h = header(generated);
    if (!h) return;
    for (std::size_t id = 0; id < logits.size(); ++id) {
      if (!allowed(*h, static_cast<model::TokenId>(id))) logits[id] = -INFINITY;
    }
  };
  return f;
}

}  // namespace alltools::agent
