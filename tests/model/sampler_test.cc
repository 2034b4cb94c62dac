#include "model/cpu/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace alltools::model::cpu {
namespace {

TEST(Sampler, GreedyTakesArgmaxLowestIdOnTie) {
  Sampler s(SamplingParams{});
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(s.sample(logits, {}), 1);
}

TEST(Sampler, RepetitionPenaltyDemotesSeenTokens) {
  SamplingParams p;
  p.repetition_penalty = 4.0f;
  Sampler s(p);
  const std::vector<float> logits = {2.0f, 1.0f, -1.0f};
  const std::vector<TokenId> context = {0};
  EXPECT_EQ(s.sample(logits, context), 1);  // 2.0 / 4 = 0.5 < 1.0
  const std::vector<float> negative = {-0.5f, -1.0f};
  const std::vector<TokenId> seen_first = {0};
  EXPECT_EQ(s.sample(negative, seen_first), 1);  // -0.5 * 4 = -2.0 < -1.0
}

TEST(Sampler, TopKOneAndTinyTopPAreGreedy) {
  const std::vector<float> logits = {0.1f, 0.3f, 3.0f, 0.2f};
  SamplingParams k1;
  k1.temperature = 1.5f;
  k1.top_k = 1;
  SamplingParams p;
  p.temperature = 1.5f;
  p.top_p = 0.01f;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    k1.seed = p.seed = seed;
    Sampler a(k1), b(p);
    EXPECT_EQ(a.sample(logits, {}), 2);
    EXPECT_EQ(b.sample(logits, {}), 2);
  }
}

TEST(Sampler, SameSeedSameTokensAndFrequenciesFollowTheDistribution) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 42;
  const std::vector<float> logits = {std::log(3.0f), 0.0f};  // p = 0.75 / 0.25
  Sampler a(p), b(p);
  int zeros = 0;
  constexpr int kDraws = 4000;
  for (int i = 0; i < kDraws; ++i) {
    const TokenId t = a.sample(logits, {});
    EXPECT_EQ(t, b.sample(logits, {}));
    zeros += t == 0;
  }
  EXPECT_NEAR(static_cast<double>(zeros) / kDraws, 0.75, 0.03);
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 0.7f;  // sorted probs 0.6, 0.3, 0.1: keeps {0, 1}
  const std::vector<float> logits = {std::log(0.3f), std::log(0.6f), std::log(0.1f)};
  bool saw[3] = {false, false, false};
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    p.seed = seed;
    Sampler s(p);
    saw[s.sample(logits, {})] = true;
  }
  EXPECT_TRUE(saw[0]);
  EXPECT_TRUE(saw[1]);
  EXPECT_FALSE(saw[2]);
}

}  // namespace
}  // namespace alltools::model::cpu
