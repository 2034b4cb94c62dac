// LanguageModel behaviour of the CPU backend on a real checkpoint: batched prefill equals token-by-token
// decode, appending a turn reuses the cache, rewind, stop ids, cancellation, context limits, seeded sampling.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>

#include "model/cpu/cpu_model.h"
#include "tests/model/test_paths.h"

namespace alltools::model {
namespace {

using testing::fixture_dir;

std::unique_ptr<CpuModel> open(const std::string& name, CpuModelOptions options = {}) {
  auto m = open_cpu_model(fixture_dir(name), options);
  EXPECT_TRUE(m.ok()) << m.error();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::vector<TokenId> prompt(int n) {
  std::vector<TokenId> ids;
  for (int i = 0; i < n; ++i) ids.push_back(static_cast<TokenId>((i * 37 + 11) % 1000));
  return ids;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

TEST(CpuModel, InfoComesFromConfig) {
  auto m = open("glm4-tiny-f32");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->info().architecture, "glm4");
  EXPECT_EQ(m->info().vocab_size, 1024);
  EXPECT_EQ(m->info().max_context, 4096);
  EXPECT_EQ(m->info().name, "glm4-tiny-f32");
  EXPECT_EQ(m->position(), 0);
}

TEST(CpuModel, BatchedPrefillEqualsTokenByToken) {
  auto batched = open("glm-tiny-bf16");
  auto stepped = open("glm-tiny-bf16");
  ASSERT_TRUE(batched && stepped);
  const auto ids = prompt(300);  // more than one prefill chunk
  auto all = batched->append_with_logits(ids);
  ASSERT_TRUE(all.ok()) << all.error();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(stepped->append(std::span<const TokenId>(&ids[i], 1)).ok());
    if (i % 50 == 0 || i + 1 == ids.size()) {
      auto step = stepped->last_logits();
      ASSERT_TRUE(step.ok());
      const std::vector<float> row(all->begin() + i * 1024, all->begin() + (i + 1) * 1024);
      EXPECT_LT(max_diff(step.value(), row), 1e-4) << "position " << i;
    }
  }
  EXPECT_EQ(batched->position(), 300);
  EXPECT_EQ(stepped->position(), 300);
}

// Weights copied out of the mapping (the default) and zero-copy views into it (map_weights) give the same logits.
TEST(CpuModel, CopiedAndMappedWeightsGiveTheSameLogits) {
  for (const char* name : {"glm4-tiny-f32", "glm-tiny-bf16"}) {
    CpuModelOptions mapped_options;
    mapped_options.map_weights = true;
    auto copied = open(name);
    auto mapped = open(name, mapped_options);
    ASSERT_TRUE(copied && mapped);
    const auto ids = prompt(40);
    ASSERT_TRUE(copied->append(ids).ok());
    ASSERT_TRUE(mapped->append(ids).ok());
    auto a = copied->last_logits();
    auto b = mapped->last_logits();
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), b->size());
    EXPECT_EQ(std::memcmp(a->data(), b->data(), a->size() * sizeof(float)), 0) << name;
  }
}

TEST(CpuModel, AppendingATurnReusesTheCacheAndRewindRestores) {
  auto m = open("glm-tiny-f32");
  auto fresh = open("glm-tiny-f32");
  ASSERT_TRUE(m && fresh);
  const auto turn1 = prompt(20);
  const std::vector<TokenId> turn2 = {5, 6, 7, 8};
  ASSERT_TRUE(m->append(turn1).ok());
  ASSERT_TRUE(m->append(turn2).ok());
  EXPECT_EQ(m->last_timings().prefill_tokens, 4);  // only the new turn ran
  std::vector<TokenId> both = turn1;
  both.insert(both.end(), turn2.begin(), turn2.end());
  ASSERT_TRUE(fresh->append(both).ok());
  EXPECT_LT(max_diff(m->last_logits().value(), fresh->last_logits().value()), 1e-5);

  // Generate, rewind to the end of turn 1, and the logits there come back.
  const auto after_turn1 = [&] {
    auto r = open("glm-tiny-f32");
    EXPECT_TRUE(r->append(turn1).ok());
    return r->last_logits().value();
  }();
  GenerateRequest req;
  req.max_new_tokens = 5;
  ASSERT_TRUE(m->generate(req, nullptr).ok());
  EXPECT_EQ(m->position(), 29);
  ASSERT_TRUE(m->rewind(20).ok());
  EXPECT_EQ(m->position(), 20);
  EXPECT_LT(max_diff(m->last_logits().value(), after_turn1), 1e-5);
  EXPECT_EQ(m->rewind(21).error().code, ErrorCode::kOutOfRange);
}

TEST(CpuModel, GenerateContinuesLikeAppendingTheSampledTokens) {
  auto m = open("glm-tiny-f32");
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->append(prompt(10)).ok());
  GenerateRequest req;
  req.max_new_tokens = 6;
  std::vector<TokenId> streamed;
  auto first = m->generate(req, [&](TokenId t) {
    streamed.push_back(t);
    return true;
  });
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->tokens, streamed);
  EXPECT_EQ(first->finish, FinishReason::kMaxTokens);
  EXPECT_EQ(first->timings.decode_tokens, 6);
  // The same continuation, greedily, in two halves.
  ASSERT_TRUE(m->rewind(10).ok());
  req.max_new_tokens = 3;
  auto a = m->generate(req, nullptr);
  auto b = m->generate(req, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<TokenId> joined = a->tokens;
  joined.insert(joined.end(), b->tokens.begin(), b->tokens.end());
  EXPECT_EQ(joined, first->tokens);
}

TEST(CpuModel, StopIdEndsGenerationAndStaysInTheCache) {
  auto m = open("glm-tiny-f32");
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->append(prompt(10)).ok());
  GenerateRequest req;
  req.max_new_tokens = 8;
  auto free_run = m->generate(req, nullptr);
  ASSERT_TRUE(free_run.ok());
  ASSERT_TRUE(m->rewind(10).ok());
  req.stop_ids = {free_run->tokens[3]};
  auto stopped = m->generate(req, nullptr);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->finish, FinishReason::kStopToken);
  const auto first_stop = std::find(free_run->tokens.begin(), free_run->tokens.end(), free_run->tokens[3]);
  EXPECT_EQ(stopped->tokens, std::vector<TokenId>(free_run->tokens.begin(), first_stop + 1));
  EXPECT_EQ(m->position(), 10 + static_cast<int>(stopped->tokens.size()));
}

TEST(CpuModel, ContextLimitIsEnforced) {
  CpuModelOptions options;
  options.max_context = 16;
  auto m = open("glm-tiny-f32", options);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->info().max_context, 16);
  const auto too_long = m->append(prompt(17));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, ErrorCode::kOutOfRange);
  EXPECT_NE(too_long.error().message.find("context too long"), std::string::npos);
  EXPECT_EQ(m->position(), 0);
  ASSERT_TRUE(m->append(prompt(12)).ok());
  GenerateRequest req;
  req.max_new_tokens = 10;
  auto r = m->generate(req, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish, FinishReason::kContextFull);
  EXPECT_EQ(r->tokens.size(), 4u);
  EXPECT_EQ(m->position(), 16);

  CpuModelOptions beyond;
  beyond.max_context = 5000;  // config says 4096
  auto rejected = open_cpu_model(fixture_dir("glm-tiny-f32"), beyond);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, ErrorCode::kOutOfRange);
}

TEST(CpuModel, BadTokensAndEmptyCacheAreErrors) {
  auto m = open("glm-tiny-f32");
  ASSERT_TRUE(m);
  const std::vector<TokenId> bad = {3, 1024};
  EXPECT_EQ(m->append(bad).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(m->position(), 0);
  EXPECT_EQ(m->generate(GenerateRequest{}, nullptr).error().code, ErrorCode::kInvalidArgument);
}

TEST(CpuModel, CancellationStopsAppendAndGenerate) {
  auto m = open("glm-tiny-f32");
  ASSERT_TRUE(m);
  CancelToken cancel;
  cancel.cancel();
  const auto r = m->append(prompt(8), &cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(m->position(), 0);
  cancel.reset();
  ASSERT_TRUE(m->append(prompt(8), &cancel).ok());
  GenerateRequest req;
  req.max_new_tokens = 50;
  int seen = 0;
  auto g = m->generate(req, [&](TokenId) {
    if (++seen == 3) cancel.cancel();  // as another thread would
    return true;
  }, &cancel);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->finish, FinishReason::kCancelled);
  EXPECT_EQ(g->tokens.size(), 3u);
  auto stop_by_callback = m->generate(req, [](TokenId) { return false; });
  ASSERT_TRUE(stop_by_callback.ok());
  EXPECT_EQ(stop_by_callback->finish, FinishReason::kCancelled);
  EXPECT_EQ(stop_by_callback->tokens.size(), 1u);
}

TEST(CpuModel, SeededSamplingIsReproducible) {
  auto m = open("glm4-tiny-f32");
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->append(prompt(6)).ok());
  GenerateRequest req;
  req.max_new_tokens = 12;
  req.sampling.temperature = 1.3f;
  req.sampling.top_k = 50;
  req.sampling.top_p = 0.95f;
  req.sampling.repetition_penalty = 1.1f;
  req.sampling.seed = 1234;
  auto a = m->generate(req, nullptr);
  ASSERT_TRUE(m->rewind(6).ok());
  auto b = m->generate(req, nullptr);
  ASSERT_TRUE(m->rewind(6).ok());
  req.sampling.seed = 99;
  auto c = m->generate(req, nullptr);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->tokens, b->tokens);
  EXPECT_NE(a->tokens, c->tokens);
}

TEST(CpuModel, LoadCpuModelReturnsALanguageModel) {
  auto m = load_cpu_model(fixture_dir("glm-tiny-bf16-chatglm"), {});
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m.value()->info().architecture, "chatglm");
}

TEST(CpuModel, SyntheticModelRunsInEveryWeightType) {
  using W = CpuModelOptions::WeightType;
  std::vector<float> reference;
  for (W type : {W::kAsStored, W::kF32, W::kBF16, W::kInt8}) {
    CpuModelOptions options;
    options.weights = type;
    options.threads = 2;
    auto m = open_synthetic_cpu_model(SyntheticSpec{"tiny", 0, 3}, options);
    ASSERT_TRUE(m.ok()) << m.error();
    ASSERT_TRUE(m.value()->append(prompt(9)).ok());
    auto logits = m.value()->last_logits();
    ASSERT_TRUE(logits.ok());
    for (float v : logits.value()) ASSERT_TRUE(std::isfinite(v));
    if (type == W::kAsStored) {
      reference = logits.value();
      EXPECT_EQ(m.value()->weight_bytes_per_token() % 2, 0u);
    } else if (type != W::kInt8) {
      EXPECT_LT(max_diff(logits.value(), reference), 1e-4);  // synthetic weights are bf16: exact in f32 and bf16
    } else {
      EXPECT_LT(max_diff(logits.value(), reference), 0.5);
    }
  }
  EXPECT_FALSE(parse_synthetic_spec("glm4-9b:layers=x").ok());
  EXPECT_EQ(parse_synthetic_spec("glm4-9b:layers=4")->layers, 4);
}

}  // namespace
}  // namespace alltools::model

namespace alltools::model {
namespace {

TEST(CpuModelMemory, Bf16WeightsStayBf16AndInt8IsAQuarterOfF32) {
  using W = CpuModelOptions::WeightType;
  const auto bytes = [](W type) {
    CpuModelOptions options;
    options.weights = type;
    auto m = open_cpu_model(testing::fixture_dir("glm-tiny-bf16"), options);
    EXPECT_TRUE(m.ok()) << m.error();
    return m.ok() ? m.value()->weight_bytes() : 0;
  };
  // glm-tiny-bf16: vocab 1024, hidden 128, 3 layers of q/k/v/o/gate_up/down.
  const std::uint64_t params = 2ull * 1024 * 128 + 3ull * (128 * 128 + 2 * 64 * 128 + 128 * 128 + 704 * 128 + 128 * 352);
  EXPECT_EQ(bytes(W::kAsStored), 2 * params);
  EXPECT_EQ(bytes(W::kBF16), 2 * params);
  EXPECT_EQ(bytes(W::kF32), 4 * params);
  EXPECT_LT(bytes(W::kInt8), params + params / 16);  // int8 + one f32 scale per row
}

}  // namespace
}  // namespace alltools::model

namespace alltools::model {
namespace {

TEST(CpuModelThreads, CancelFromAnotherThreadStopsGenerate) {
  auto m = open_cpu_model(testing::fixture_dir("glm-tiny-f32"), {});
  ASSERT_TRUE(m.ok()) << m.error();
  const std::vector<TokenId> start = {1, 2, 3};
  ASSERT_TRUE(m.value()->append(start).ok());
  CancelToken cancel;
  std::atomic<int> emitted{0};
  std::thread canceller([&] {
    while (emitted.load() < 5) std::this_thread::yield();
    cancel.cancel();
  });
  GenerateRequest req;
  req.max_new_tokens = 4000;  // far more than it will get to
  auto r = m.value()->generate(req, [&](TokenId) {
    emitted.fetch_add(1);
    return true;
  }, &cancel);
  canceller.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish, FinishReason::kCancelled);
  EXPECT_GE(r->tokens.size(), 5u);
  EXPECT_LT(r->tokens.size(), 4000u);
}

TEST(CpuModel, GenerateHonoursTheLogitsFilter) {
  auto m = open("glm-tiny-f32");
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->append(prompt(8)).ok());
  // Only ids 7 and 9 may be sampled for the first three tokens; then the model is free again.
  int asked = 0;
  GenerateRequest req;
  req.max_new_tokens = 6;
  req.filter.wants = [&](std::span<const TokenId> generated) {
    ++asked;
    return generated.size() < 3;
  };
  req.filter.apply = [](std::span<const TokenId>, std::span<float> logits) {
    for (std::size_t id = 0; id < logits.size(); ++id) {
      if (id != 7 && id != 9) logits[id] = -INFINITY;
    }
  };
  auto r = m->generate(req, nullptr);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->tokens.size(), 6u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(r->tokens[i] == 7 || r->tokens[i] == 9) << r->tokens[i];
  EXPECT_EQ(asked, 6);
  // Unfiltered, the same prompt does not start with those ids (so the filter, not luck, chose them).
  ASSERT_TRUE(m->rewind(8).ok());
  auto free = m->generate(GenerateRequest{.sampling = {}, .stop_ids = {}, .max_new_tokens = 1}, nullptr);
  ASSERT_TRUE(free.ok());
  EXPECT_NE(free->tokens[0], 7);
  EXPECT_NE(free->tokens[0], 9);
}

// continuation_logits: the rows of each alternative are the logits a real append would give, and afterwards the
// cache, the kept logits and what generate() samples are as if nothing had run.
TEST(CpuModel, ContinuationLogitsLeaveTheCacheAsItWas) {
  auto m = open("glm-tiny-bf16");
  auto ref = open("glm-tiny-bf16");
  ASSERT_TRUE(m && ref);
  const auto ids = prompt(12);
  ASSERT_TRUE(m->append(ids).ok());
  auto before = m->last_logits();
  ASSERT_TRUE(before.ok());
  const std::vector<std::vector<TokenId>> alternatives = {{5, 6, 7}, {}, {900}};
  std::vector<std::vector<float>> seen(alternatives.size());
  Status s = m->continuation_logits(alternatives, [&](std::size_t i, std::span<const float> rows) {
    seen[i].assign(rows.begin(), rows.end());
  });
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_TRUE(ref->append(ids).ok());
  for (std::size_t i = 0; i < alternatives.size(); ++i) {
    ASSERT_EQ(seen[i].size(), (alternatives[i].size() + 1) * 1024u) << i;
    EXPECT_EQ(std::vector<float>(seen[i].begin(), seen[i].begin() + 1024), before.value()) << i;
    if (alternatives[i].empty()) continue;
    auto rows = ref->append_with_logits(alternatives[i]);
    ASSERT_TRUE(rows.ok());
    EXPECT_LT(max_diff(std::vector<float>(seen[i].begin() + 1024, seen[i].end()), rows.value()), 1e-5) << i;
    ASSERT_TRUE(ref->rewind(12).ok());
  }
  EXPECT_EQ(m->position(), 12);
  auto after = m->last_logits();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.value(), before.value());
  GenerateRequest req;
  req.max_new_tokens = 5;
  auto got = m->generate(req, nullptr);
  auto want = ref->generate(req, nullptr);
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_EQ(got->tokens, want->tokens);
}

TEST(CpuModel, ContinuationLogitsErrorsLoseNothing) {
  auto m = open("glm-tiny-f32");
  ASSERT_TRUE(m);
  const auto ignore = [](std::size_t, std::span<const float>) {};
  const std::vector<std::vector<TokenId>> one = {{3}};
  Status empty = m->continuation_logits(one, ignore);  // nothing in the cache yet
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(m->append(prompt(6)).ok());
  auto before = m->last_logits();
  ASSERT_TRUE(before.ok());
  int visits = 0;
  const std::vector<std::vector<TokenId>> bad = {{4}, {4, 5000}};  // the second leaves the vocabulary
  Status s = m->continuation_logits(bad, [&](std::size_t, std::span<const float>) { ++visits; });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(visits, 1);
  EXPECT_EQ(m->position(), 6);
  EXPECT_EQ(m->last_logits().value(), before.value());
}

}  // namespace
}  // namespace alltools::model
