#include "model/cpu/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/check.h"

namespace alltools::model::cpu {

double Sampler::next_uniform() {
  state_ += 0x9e3779b97f4a7c15ull;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

TokenId Sampler::sample(std::span<const float> logits, std::span<const TokenId> context) {
  ALLTOOLS_CHECK(!logits.empty());
  const int vocab = static_cast<int>(logits.size());
  work_.assign(logits.begin(), logits.end());
  if (params_.repetition_penalty != 1.0f && params_.repetition_penalty > 0.0f) {
    seen_.assign(logits.size(), 0);
    for (TokenId t : context) {
      if (t < 0 || t >= vocab || seen_[t]) continue;
      seen_[t] = 1;
      float& l = work_[t];
      l = l > 0.0f ? l / params_.repetition_penalty : l * params_.repetition_penalty;
    }
  }
  if (params_.temperature <= 0.0f) {
    return static_cast<TokenId>(std::max_element(work_.begin(), work_.end()) - work_.begin());
  }
  // Candidates sorted by logit descending, id ascending on ties.
  std::vector<int> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  const auto by_logit = [&](int a, int b) { return work_[a] != work_[b] ? work_[a] > work_[b] : a < b; };
  int keep = vocab;
  if (params_.top_k > 0 && params_.top_k < vocab) {
    keep = params_.top_k;
    std::partial_sort(ids.begin(), ids.begin() + keep, ids.end(), by_logit);
  } else {
    std::sort(ids.begin(), ids.end(), by_logit);
  }
  const double max_logit = work_[ids[0]];
  std::vector<double> probs(static_cast<std::size_t>(keep));
  double total = 0.0;
  for (int i = 0; i < keep; ++i) {
    probs[i] = std::exp((static_cast<double>(work_[ids[i]]) - max_logit) / params_.temperature);
    total += probs[i];
  }
  if (params_.top_p < 1.0f && params_.top_p > 0.0f) {
    double mass = 0.0;
    int cut = keep;
    for (int i = 0; i < keep; ++i) {
      mass += probs[i] / total;
      if (mass >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    total = std::accumulate(probs.begin(), probs.begin() + keep, 0.0);
  }
  const double u = next_uniform() * total;
  double acc = 0.0;
  for (int i = 0; i < keep; ++i) {
    acc += probs[i];
    if (u < acc) return ids[i];
  }
  return ids[keep - 1];
}

}  // namespace alltools::model::cpu
