#include "core/agent/argument_constraint.h"

#include <algorithm>
#include <cmath>

namespace alltools::agent {

Result<std::unique_ptr<ArgumentConstraint>> ArgumentConstraint::create(const model::Tokenizer& tokenizer,
                                                                       std::span<const tools::ToolSpec> tools,
                                                                       bool starts_in_header) {
  const auto assistant = tokenizer.special_id("<|assistant|>");
  const auto observation = tokenizer.special_id("<|observation|>");
  if (!assistant || !observation)
    return make_error(ErrorCode::kNotFound, "the tokenizer has no <|assistant|> or <|observation|> token");
  return std::unique_ptr<ArgumentConstraint>(
      new ArgumentConstraint(tokenizer, tools, *assistant, *observation, starts_in_header));
}

ArgumentConstraint::ArgumentConstraint(const model::Tokenizer& tokenizer, std::span<const tools::ToolSpec> tools,
                                       model::TokenId assistant, model::TokenId observation, bool starts_in_header)
    : assistant_(assistant), observation_(observation), starts_in_header_(starts_in_header) {
  for (const tools::ToolSpec& spec : tools) {
    if (spec.kind != tools::ToolSpec::Kind::kFunction) continue;
    const nlohmann::json parameters = spec.function.contains("parameters")
                                          ? nlohmann::json::parse(spec.function["parameters"].dump())
                                          : nlohmann::json::object();
    functions_.emplace(spec.name, grammar_.add_arguments(parameters, spec.name));
  }
  masker_ = std::make_unique<TokenMasker>(tokenizer, automaton_);
  const std::vector<std::string>& pieces = masker_->pieces();
  special_.resize(pieces.size());
  std::unordered_map<std::string, std::size_t> group;  // tail -> index in line_ends_
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    special_[id] = tokenizer.is_special(static_cast<model::TokenId>(id));
    const std::size_t nl = pieces[id].find('\n');
    if (nl == std::string::npos) continue;
    std::string tail = pieces[id].substr(0, nl);
    auto [it, added] = group.emplace(tail, line_ends_.size());
    if (added) line_ends_.push_back({std::move(tail), {}});
    line_ends_[it->second].tokens.emplace_back(static_cast<model::TokenId>(id), pieces[id].substr(nl + 1));
  }
}

int ArgumentConstraint::root_of(std::string_view name) const {
  const auto it = functions_.find(std::string(name));
  return it == functions_.end() ? -1 : it->second;
}

bool ArgumentConstraint::names_a_prefix(std::string_view header) const {
  return std::any_of(functions_.begin(), functions_.end(),
                     [&](const auto& f) { return std::string_view(f.first).starts_with(header); });
}

std::optional<ArgumentConstraint::Segment> ArgumentConstraint::segment(
    std::span<const model::TokenId> generated) const {
  std::size_t start = 0;
  bool open = starts_in_header_;
  for (std::size_t i = generated.size(); i > 0; --i) {
    if (generated[i - 1] == assistant_) {
      start = i, open = true;
      break;
    }
  }
  if (!open) return std::nullopt;
  const std::vector<std::string>& pieces = masker_->pieces();
  Segment s;
  std::string text;
  for (std::size_t i = start; i < generated.size(); ++i) {
    const auto id = static_cast<std::size_t>(generated[i]);
    if (id >= pieces.size() || special_[id]) return std::nullopt;
    text += pieces[id];
  }
  const std::size_t nl = text.find('\n');
  if (nl == std::string::npos) {
    s.header = std::move(text);
  } else {
    s.header = text.substr(0, nl);
    s.body = text.substr(nl + 1);
  }
  return s;
}

std::optional<State> ArgumentConstraint::body_state(std::span<const model::TokenId> generated) const {
  const auto s = segment(generated);
  if (!s || !s->body) return std::nullopt;
  const int root = root_of(s->header);
  if (root < 0) return std::nullopt;
  State state = automaton_.start(root);
  if (!automaton_.feed(state, *s->body)) return std::nullopt;
  return state;
}

bool ArgumentConstraint::wants(std::span<const model::TokenId> generated) const {
  const auto s = segment(generated);
  if (!s) return false;
  return s->body ? root_of(s->header) >= 0 : names_a_prefix(s->header);
}

bool ArgumentConstraint::apply(std::span<const model::TokenId> generated, std::span<float> logits) {
  const auto s = segment(generated);
  if (!s) return false;
  if (!s->body) {
    // An open header line: a token that ends it with a function's name must begin that function's body well.
    if (!names_a_prefix(s->header)) return false;
    for (const LineEnds& group : line_ends_) {
      const int root = root_of(s->header + group.tail);
      if (root < 0) continue;
      for (const auto& [id, rest] : group.tokens) {
        State state = automaton_.start(root);
        if (static_cast<std::size_t>(id) < logits.size() && !automaton_.feed(state, rest)) logits[id] = -INFINITY;
      }
    }
    return true;
  }
  const auto state = body_state(generated);
  if (!state) return false;
  const std::vector<std::uint64_t>& bits = masker_->allowed(*state);
  const bool end = automaton_.can_end(*state);
  for (std::size_t id = 0; id < logits.size(); ++id) {
    const bool ok = TokenMasker::test(bits, id) || (end && id == static_cast<std::size_t>(observation_));
    if (!ok) logits[id] = -INFINITY;
  }
  return true;
}

model::LogitsFilter ArgumentConstraint::filter() {
  model::LogitsFilter f;
  f.wants = [this](std::span<const model::TokenId> generated) { return wants(generated); };
  f.apply = [this](std::span<const model::TokenId> generated, std::span<float> logits) {
    apply(generated, logits);
  };
  return f;
}

model::LogitsFilter combine_filters(model::LogitsFilter a, model::LogitsFilter b) {
  if (!a.wants) return b;
  if (!b.wants) return a;
  model::LogitsFilter f;
  f.wants = [a, b](std::span<const model::TokenId> generated) { return a.wants(generated) || b.wants(generated); };
  f.apply = [a, b](std::span<const model::TokenId> generated, std::span<float> logits) {
    if (a.wants(generated)) a.apply(generated, logits);
    if (b.wants(generated)) b.apply(generated, logits);
  };
  return f;
}

}  // namespace alltools::agent
