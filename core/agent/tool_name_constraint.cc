#include "core/agent/tool_name_constraint.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace alltools::agent {

namespace {

// log(sum(exp(row[id]))) over the `ids` inside the row (sorted ascending).
double log_sum_exp(std::span<const float> row, std::span<const model::TokenId> ids) {
  const auto end = std::lower_bound(ids.begin(), ids.end(), static_cast<model::TokenId>(row.size()));
  double peak = -std::numeric_limits<double>::infinity();
  for (auto it = ids.begin(); it != end; ++it) peak = std::max(peak, static_cast<double>(row[*it]));
  if (!std::isfinite(peak)) return peak;
  double sum = 0.0;
  for (auto it = ids.begin(); it != end; ++it) sum += std::exp(static_cast<double>(row[*it]) - peak);
  return peak + std::log(sum);
}

double log_sum_exp(std::span<const float> row) {
  double peak = -std::numeric_limits<double>::infinity();
  for (float v : row) peak = std::max(peak, static_cast<double>(v));
  if (!std::isfinite(peak)) return peak;
  double sum = 0.0;
  for (float v : row) sum += std::exp(static_cast<double>(v) - peak);
  return peak + std::log(sum);
}

}  // namespace

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
      if (!pieces_[id].empty() && pieces_[id][0] == '\n') line_ends_.push_back(id);
    }
  }
  for (const std::string& n : names_) encoded_.push_back(tokenizer.encode(n));
  const std::string empty;
  for (int id = 0; id < vocab; ++id) {
    if (allowed_in(empty, id, names_, /*answer=*/false)) name_starts_.push_back(id);
  }
}

std::optional<ToolNameConstraint::OpenHeader> ToolNameConstraint::open_header(
    std::span<const model::TokenId> generated) const {
  std::size_t start = 0;
  bool in_header = starts_in_header_;
  bool first = true;
  for (std::size_t i = generated.size(); i > 0; --i) {
    if (generated[i - 1] == assistant_) {
      start = i;
      in_header = true;
      first = false;
      break;
    }
  }
  if (!in_header) return std::nullopt;
  OpenHeader open{{}, first};
  for (std::size_t i = start; i < generated.size(); ++i) {
    const model::TokenId id = generated[i];
    if (id < 0 || static_cast<std::size_t>(id) >= pieces_.size() || special_[id]) return std::nullopt;
    open.text += pieces_[id];
    if (open.text.find('\n') != std::string::npos) return std::nullopt;  // the header line is complete
  }
  return open;
}

std::optional<std::string> ToolNameConstraint::header(std::span<const model::TokenId> generated) const {
  auto open = open_header(generated);
  if (!open) return std::nullopt;
  return std::move(open->text);
}

bool ToolNameConstraint::allowed(const std::string& header, model::TokenId id) const {
  return allowed_in(header, id, names_, /*answer=*/true);
}

bool ToolNameConstraint::allowed_in(const std::string& header, model::TokenId id, std::span<const std::string> names,
                                    bool answer) const {
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
    if (header.empty() && tail.empty()) return answer;
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return n.size() == header.size() + tail.size() && extends(n);
    });
  }
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return extends(n); });
}

model::LogitsFilter ToolNameConstraint::filter(std::optional<std::string> first_line) const {
  model::LogitsFilter f;
  f.wants = [this](std::span<const model::TokenId> generated) { return open_header(generated).has_value(); };
  f.apply = [this, first_line = std::move(first_line)](std::span<const model::TokenId> generated,
                                                        std::span<float> logits) {
    const std::optional<OpenHeader> h = open_header(generated);
    if (!h) return;
    const bool forced = h->first && first_line.has_value();
    const std::span<const std::string> names =
        forced ? (first_line->empty() ? std::span<const std::string>() : std::span<const std::string>(&*first_line, 1))
               : std::span<const std::string>(names_);
    const bool answer = !forced || first_line->empty();
    for (std::size_t id = 0; id < logits.size(); ++id) {
      if (!allowed_in(h->text, static_cast<model::TokenId>(id), names, answer)) logits[id] = -INFINITY;
    }
  };
  return f;
}

double ToolNameConstraint::line_score(std::span<const float> rows, std::span<const model::TokenId> tokens) const {
  // The model's rows may be wider than the tokenizer's vocabulary (GLM-4 pads its output layer).
  const std::size_t vocab = rows.size() / (tokens.size() + 1);
  if (vocab == 0 || rows.size() != (tokens.size() + 1) * vocab) return -std::numeric_limits<double>::infinity();
  double total = 0.0;
  for (std::size_t i = 0; i <= tokens.size(); ++i) {
    const std::span<const float> row = rows.subspan(i * vocab, vocab);
    const double norm = log_sum_exp(row);
    if (i < tokens.size()) {
      const auto id = static_cast<std::size_t>(tokens[i]);
      if (id >= vocab) return -std::numeric_limits<double>::infinity();
      total += static_cast<double>(row[id]) - norm;
    } else {
      total += log_sum_exp(row, line_ends_) - norm;
    }
  }
  return total / std::sqrt(static_cast<double>(tokens.size() + 1));
}

Result<ToolNameConstraint::Choice> ToolNameConstraint::choose(model::LanguageModel& model,
                                                              const model::CancelToken* cancel) const {
  // The distribution after the cache decides between answering and calling: the probability of ending the header
  // line at once against that of starting a tool name (any token that can begin one); the more probable wins.
  std::vector<float> first;
  const std::vector<std::vector<model::TokenId>> none(1);
  ALLTOOLS_RETURN_IF_ERROR(model.continuation_logits(
      none, [&](std::size_t, std::span<const float> rows) { first.assign(rows.begin(), rows.end()); }, cancel));
  const double norm = log_sum_exp(first);
  if (log_sum_exp(first, name_starts_) <= log_sum_exp(first, line_ends_)) return Choice{};
  // Which tool: the name with the best line_score, by branch and bound (exact). A name's later tokens and line
  // end have log-probability <= 0, so its score is at most (first-token log-probability) / sqrt(tokens + 1);
  // names are scored best bound first until no bound can beat the best so far (1-3 forward passes with a few
  // tools; names sharing a plausible prefix all need theirs). Ties go to the name listed first.
  struct Candidate {
    double bound;
    std::size_t index;
  };
  std::vector<Candidate> order;
  for (std::size_t i = 0; i < encoded_.size(); ++i) {
    const auto id = encoded_[i].empty() ? first.size() : static_cast<std::size_t>(encoded_[i][0]);
    if (id >= first.size()) continue;  // a name the model cannot spell (not in its vocabulary)
    order.push_back({(static_cast<double>(first[id]) - norm) / std::sqrt(static_cast<double>(encoded_[i].size() + 1)),
                     i});
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Candidate& a, const Candidate& b) { return a.bound > b.bound; });
  double best_score = -std::numeric_limits<double>::infinity();
  std::size_t best = encoded_.size();
  int scored = 0;
  for (const Candidate& c : order) {
    if (c.bound < best_score) break;
    if (c.bound == best_score && c.index > best) continue;
    const std::vector<std::vector<model::TokenId>> line = {encoded_[c.index]};
    double score = -std::numeric_limits<double>::infinity();
    ALLTOOLS_RETURN_IF_ERROR(model.continuation_logits(
        line, [&](std::size_t, std::span<const float> rows) { score = line_score(rows, encoded_[c.index]); }, cancel));
    ++scored;
    if (best == encoded_.size() || score > best_score || (score == best_score && c.index < best)) {
      best_score = score;
      best = c.index;
    }
  }
  if (best == encoded_.size()) return Choice{{}, scored};
  return Choice{names_[best], scored};
}

}  // namespace alltools::agent
