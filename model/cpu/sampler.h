// Sampler: picks the next token from logits per SamplingParams — repetition penalty (CTRL: positive logits are
// divided by the penalty, negative ones multiplied), then greedy argmax (lowest id wins a tie) when temperature
// is 0, else temperature, top-k, top-p (smallest prefix of the sorted distribution whose mass reaches p) and a
// draw from a splitmix64 stream seeded by `seed`: the same seed and inputs give the same tokens on any platform.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/language_model.h"

namespace alltools::model::cpu {

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params) : params_(params), state_(params.seed) {}

  // `context`: the tokens the repetition penalty applies to.
  TokenId sample(std::span<const float> logits, std::span<const TokenId> context);

 private:
  double next_uniform();  // [0, 1)

  SamplingParams params_;
  std::uint64_t state_;
  std::vector<float> work_;
  std::vector<std::uint8_t> seen_;
};

}  // namespace alltools::model::cpu
