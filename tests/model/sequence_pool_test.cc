// The CPU SequencePool (continuous batching) on real checkpoints: a batched decode step gives every row the
// logits it gets alone (bitwise), greedy output is the same alone and batched with 7 others (f32 and bf16
// fixtures, the embedded model), sequences join and leave mid-run, cancellation, the KV budget, prefix reuse,
// rewind/append, destroying a generating handle, bad input.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "model/cpu/cpu_sequence_pool.h"
#include "model/cpu/transformer.h"
#include "model/cpu/transformer_loader.h"
#include "tests/model/test_paths.h"

namespace alltools::model {
namespace {

using testing::fixture_dir;
using W = CpuModelOptions::WeightType;

const std::string kEmbedded = (std::filesystem::path(ALLTOOLS_SOURCE_DIR) / "models" / "glm4-alltools-tiny").string();

// Prompt i: distinct lengths (some past one prefill chunk) and contents, ids < `vocab`.
std::vector<TokenId> prompt(int i, int vocab) {
  const int n = 5 + 23 * i;  // 5 .. 166
  std::vector<TokenId> ids;
  for (int k = 0; k < n; ++k) ids.push_back(static_cast<TokenId>((k * 37 + i * 101 + 11) % vocab));
  return ids;
}

std::unique_ptr<SequencePool> open_pool(const std::string& dir, W weights, SequencePoolOptions options = {}) {
  CpuModelOptions o;
  o.weights = weights;
  o.threads = 2;
  auto pool = open_cpu_sequence_pool(dir, o, options);
  EXPECT_TRUE(pool.ok()) << pool.error();
  return pool.ok() ? std::move(pool).value() : nullptr;
}

// Waits (bounded) until `done` holds.
template <typename Pred>
void wait_for(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

GenerateRequest greedy(int max_new_tokens) {
  GenerateRequest r;
  r.max_new_tokens = max_new_tokens;
  return r;
}

// Appends the prompt and generates greedily; the tokens.
std::vector<TokenId> run(SequencePool& pool, const std::vector<TokenId>& ids, int max_new_tokens) {
  auto seq = pool.open(ids);
  EXPECT_TRUE(seq.ok()) << seq.error();
  if (!seq.ok()) return {};
  EXPECT_TRUE(seq.value()->append(std::span<const TokenId>(ids).subspan(seq.value()->position())).ok());
  auto out = seq.value()->generate(greedy(max_new_tokens), nullptr);
  EXPECT_TRUE(out.ok()) << out.error();
  return out.ok() ? out->tokens : std::vector<TokenId>{};
}

// Every row of a batched decode step gets bitwise the logits it gets alone, whatever shares its step.
void expect_rows_bitwise_alone(const std::string& dir, W weights) {
  CpuModelOptions o;
  o.weights = weights;
  o.threads = 2;
  auto loaded = cpu::load_transformer(dir, o);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  cpu::Transformer& tf = *loaded->transformer;
  const int vocab = tf.config().vocab_size;
  constexpr int kRows = 8;
  std::vector<cpu::KvCache> batched, alone;
  std::vector<cpu::Transformer::Row> rows;
  for (int i = 0; i < kRows; ++i) {
    batched.push_back(tf.new_cache(512).value());
    alone.push_back(tf.new_cache(512).value());
  }
  for (int i = 0; i < kRows; ++i) {
    const auto ids = prompt(i, vocab);
    tf.forward(batched[i], ids, 0, cpu::Transformer::Logits::kNone, nullptr);
    tf.forward(alone[i], ids, 0, cpu::Transformer::Logits::kNone, nullptr);
    rows.push_back({static_cast<TokenId>((i * 13 + 5) % vocab), &batched[i], static_cast<int>(ids.size())});
  }
  for (int step = 0; step < 3; ++step) {  // three steps: later ones read keys the batched steps wrote
    std::vector<float> all(static_cast<std::size_t>(kRows) * vocab), one(vocab);
    tf.forward_rows(rows, all.data());
    for (int i = 0; i < kRows; ++i) {
      tf.forward(alone[i], std::span<const TokenId>(&rows[i].token, 1), rows[i].position,
                 cpu::Transformer::Logits::kLast, one.data());
      ASSERT_EQ(std::memcmp(one.data(), all.data() + static_cast<std::size_t>(i) * vocab, sizeof(float) * vocab), 0)
          << dir << " row " << i << " step " << step;
      rows[i].token = static_cast<TokenId>((rows[i].token * 7 + 3) % vocab);
      ++rows[i].position;
    }
  }
}

TEST(SequencePool, BatchedRowsAreBitwiseAloneF32) { expect_rows_bitwise_alone(fixture_dir("glm4-tiny-f32"), W::kAsStored); }
TEST(SequencePool, BatchedRowsAreBitwiseAloneBf16) { expect_rows_bitwise_alone(fixture_dir("glm-tiny-bf16"), W::kAsStored); }
TEST(SequencePool, BatchedRowsAreBitwiseAloneInt8) { expect_rows_bitwise_alone(fixture_dir("glm-tiny-f32"), W::kInt8); }
TEST(SequencePool, BatchedRowsAreBitwiseAloneEmbedded) { expect_rows_bitwise_alone(kEmbedded, W::kAsStored); }

// 8 sequences on 8 threads, joining at different steps and leaving after different lengths: each one's greedy
// tokens equal those it produces alone in the pool, and those of a CpuModel of its own.
void expect_batched_greedy_is_alone(const std::string& dir, W weights) {
  constexpr int kSeqs = 8;
  auto pool = open_pool(dir, weights);
  ASSERT_TRUE(pool);
  const int vocab = pool->info().vocab_size;
  std::vector<std::vector<TokenId>> alone(kSeqs), together(kSeqs);
  for (int i = 0; i < kSeqs; ++i) alone[i] = run(*pool, prompt(i, vocab), 24 + 6 * i);

  CpuModelOptions o;
  o.weights = weights;
  o.threads = 2;
  auto single = open_cpu_model(dir, o);
  ASSERT_TRUE(single.ok()) << single.error();
  for (int i = 0; i < kSeqs; ++i) {
    ASSERT_TRUE((*single)->rewind(0).ok());
    ASSERT_TRUE((*single)->append(prompt(i, vocab)).ok());
    auto out = (*single)->generate(greedy(24 + 6 * i), nullptr);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->tokens, alone[i]) << dir << " sequence " << i << ": the pool alone differs from CpuModel";
  }

  const auto before = pool->stats();
  std::vector<std::thread> threads;
  for (int i = 0; i < kSeqs; ++i) {
    threads.emplace_back([&, i] {
      // Sequence i joins once the others have run about 2 * i steps (bounded wait).
      wait_for([&] { return pool->stats().steps >= before.steps + 2 * static_cast<std::uint64_t>(i); });
      together[i] = run(*pool, prompt(i, vocab), 24 + 6 * i);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kSeqs; ++i) EXPECT_EQ(together[i], alone[i]) << dir << " sequence " << i;
  const auto after = pool->stats();
  const double mean_batch = static_cast<double>(after.step_tokens - before.step_tokens) / (after.steps - before.steps);
  EXPECT_GT(mean_batch, 2.0) << "the sequences were not batched";
  EXPECT_EQ(after.active, 0);
  EXPECT_EQ(after.generating, 0);
}

TEST(SequencePool, GreedyBatchedEqualsAloneF32) { expect_batched_greedy_is_alone(fixture_dir("glm4-tiny-f32"), W::kAsStored); }
TEST(SequencePool, GreedyBatchedEqualsAloneBf16) { expect_batched_greedy_is_alone(fixture_dir("glm-tiny-bf16"), W::kAsStored); }
TEST(SequencePool, GreedyBatchedEqualsAloneEmbedded) { expect_batched_greedy_is_alone(kEmbedded, W::kAsStored); }
TEST(SequencePool, GreedyBatchedEqualsAloneEmbeddedBf16) { expect_batched_greedy_is_alone(kEmbedded, W::kBF16); }

// Seeded sampling and a LogitsFilter (the agent's constrained decoding) run per sequence on its own thread: with
// 4 sequences batched, each one's tokens equal those it samples alone.
TEST(SequencePool, SeededSamplingAndFiltersAreTheSameBatched) {
  constexpr int kSeqs = 4;
  auto pool = open_pool(fixture_dir("glm-tiny-bf16"), W::kAsStored);
  ASSERT_TRUE(pool);
  const auto request = [](int i) {
    GenerateRequest r;
    r.max_new_tokens = 30;
    r.sampling.temperature = 0.9f;
    r.sampling.top_k = 40;
    r.sampling.seed = 100 + i;
    if (i % 2 == 1) {  // odd sequences may only produce even ids after their 5th token
      r.filter.wants = [](std::span<const TokenId> generated) { return generated.size() >= 5; };
      r.filter.apply = [](std::span<const TokenId>, std::span<float> logits) {
        for (std::size_t id = 1; id < logits.size(); id += 2) logits[id] = -INFINITY;
      };
    }
    return r;
  };
  const auto sample = [&](int i) {
    auto seq = pool->open();
    EXPECT_TRUE(seq.ok());
    EXPECT_TRUE(seq.value()->append(prompt(i, 1024)).ok());
    auto out = seq.value()->generate(request(i), nullptr);
    EXPECT_TRUE(out.ok());
    return out.ok() ? out->tokens : std::vector<TokenId>{};
  };
  std::vector<std::vector<TokenId>> alone(kSeqs), together(kSeqs);
  for (int i = 0; i < kSeqs; ++i) alone[i] = sample(i);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSeqs; ++i) threads.emplace_back([&, i] { together[i] = sample(i); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kSeqs; ++i) {
    EXPECT_EQ(together[i], alone[i]) << "sequence " << i;
    ASSERT_EQ(alone[i].size(), 30u);
    if (i % 2 == 1) {
      for (std::size_t k = 5; k < alone[i].size(); ++k) EXPECT_EQ(alone[i][k] % 2, 0) << "sequence " << i;
    }
  }
}

TEST(SequencePool, CancellationLeavesAtTheNextStepAndOthersGoOn) {
  auto pool = open_pool(fixture_dir("glm4-tiny-f32"), W::kAsStored);
  ASSERT_TRUE(pool);
  const auto other_prompt = prompt(3, 1024);
  const auto want = run(*pool, other_prompt, 60);
  CancelToken cancel;
  std::atomic<int> seen{0};
  Result<GenerateResult> cancelled = GenerateResult{};
  std::vector<TokenId> other;
  std::thread a([&] {
    auto seq = pool->open();
    ASSERT_TRUE(seq.ok());
    ASSERT_TRUE(seq.value()->append(prompt(1, 1024)).ok());
    cancelled = seq.value()->generate(greedy(1000), [&](TokenId) {
      ++seen;
      return true;
    }, &cancel);
  });
  std::thread b([&] { other = run(*pool, other_prompt, 60); });
  wait_for([&] { return seen.load() >= 5; });
  const int at_cancel = seen.load();
  cancel.cancel();
  a.join();
  b.join();
  ASSERT_TRUE(cancelled.ok()) << cancelled.error();
  EXPECT_EQ(cancelled->finish, FinishReason::kCancelled);
  EXPECT_LE(static_cast<int>(cancelled->tokens.size()), at_cancel + 1);  // at most the step in flight
  EXPECT_EQ(other, want);
}

TEST(SequencePool, DestroyingAGeneratingHandleCancelsIt) {
  auto pool = open_pool(fixture_dir("glm-tiny-f32"), W::kAsStored);
  ASSERT_TRUE(pool);
  auto seq = pool->open();
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(seq.value()->append(prompt(2, 1024)).ok());
  LanguageModel* raw = seq.value().get();
  std::atomic<int> seen{0};
  Result<GenerateResult> out = GenerateResult{};
  std::thread gen([&] {
    out = raw->generate(greedy(3000), [&](TokenId) {
      ++seen;
      return true;
    });
  });
  wait_for([&] { return seen.load() >= 3; });
  seq.value().reset();  // waits for generate() to leave
  gen.join();
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out->finish, FinishReason::kCancelled);
  EXPECT_LT(out->tokens.size(), 3000u);
  EXPECT_EQ(pool->stats().active, 0);
  EXPECT_EQ(pool->stats().generating, 0);
}

TEST(SequencePool, KvBudgetIsEnforcedAndNothingIsLost) {
  CpuModelOptions o;
  o.threads = 2;
  auto probe = cpu::load_transformer(fixture_dir("glm4-tiny-f32"), o);
  ASSERT_TRUE(probe.ok());
  const ModelConfig& c = probe->transformer->config();
  const std::uint64_t per_pos = static_cast<std::uint64_t>(c.num_layers) * 2 * c.kv_dim() * sizeof(float);
  SequencePoolOptions options;
  options.kv_budget = 100 * per_pos;
  auto pool = open_pool(fixture_dir("glm4-tiny-f32"), W::kAsStored, options);
  ASSERT_TRUE(pool);
  const auto p60 = prompt(2, 1024);  // 51 tokens
  auto first = pool->open(p60);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(pool->stats().kv_bytes, 51 * per_pos);
  // A second 51-token prompt does not fit next to the first.
  auto second = pool->open(p60);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kResourceExhausted);
  ASSERT_TRUE(first.value()->append(p60).ok());
  // Generation stops at the budget with kContextFull and keeps what it made.
  auto out = first.value()->generate(greedy(200), nullptr);
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out->finish, FinishReason::kContextFull);
  EXPECT_EQ(first.value()->position(), 100);
  EXPECT_EQ(out->tokens.size(), 49u);
  EXPECT_EQ(pool->stats().kv_bytes, 100 * per_pos);
  // An append past the budget fails and changes nothing.
  const std::vector<TokenId> more = {1, 2, 3};
  const Status s = first.value()->append(more);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(first.value()->position(), 100);
  // After a rewind there is room again.
  ASSERT_TRUE(first.value()->rewind(60).ok());
  EXPECT_TRUE(first.value()->append(more).ok());
  // Closed, the cache is parked; a new sequence evicts it to make room.
  first.value().reset();
  EXPECT_EQ(pool->stats().parked, 1);
  auto third = pool->open(prompt(4, 1024));  // 97 tokens, shares nothing with the parked cache
  ASSERT_TRUE(third.ok()) << third.error();
  EXPECT_EQ(pool->stats().parked, 0);
  EXPECT_EQ(pool->stats().kv_bytes, 97 * per_pos);
}

TEST(SequencePool, PrefixReuseGivesTheSameOutputAndCountsReusedTokens) {
  auto pool = open_pool(fixture_dir("glm4-tiny-f32"), W::kAsStored);
  ASSERT_TRUE(pool);
  const auto turn1 = prompt(2, 1024);
  const std::vector<TokenId> turn2_user = {7, 8, 9, 10, 11};
  // Reference: one handle through both turns.
  std::vector<TokenId> ref1, ref2;
  {
    auto seq = pool->open();
    ASSERT_TRUE(seq.ok());
    ASSERT_TRUE(seq.value()->append(turn1).ok());
    ref1 = seq.value()->generate(greedy(12), nullptr).value().tokens;
    ASSERT_TRUE(seq.value()->append(turn2_user).ok());
    ref2 = seq.value()->generate(greedy(12), nullptr).value().tokens;
  }
  // A server: turn 1 on one handle, closed; turn 2 as a new request with the whole conversation as its prompt.
  auto fresh = open_pool(fixture_dir("glm4-tiny-f32"), W::kAsStored);
  ASSERT_TRUE(fresh);
  std::vector<TokenId> conversation = turn1;
  {
    auto seq = fresh->open(turn1);
    ASSERT_TRUE(seq.ok());
    EXPECT_EQ(seq.value()->position(), 0);
    ASSERT_TRUE(seq.value()->append(turn1).ok());
    const auto out1 = seq.value()->generate(greedy(12), nullptr).value().tokens;
    EXPECT_EQ(out1, ref1);
    conversation.insert(conversation.end(), out1.begin(), out1.end());
  }
  EXPECT_EQ(fresh->stats().parked, 1);
  conversation.insert(conversation.end(), turn2_user.begin(), turn2_user.end());
  auto seq = fresh->open(conversation);
  ASSERT_TRUE(seq.ok());
  // The last generated token was sampled but never forwarded: everything before it is reused.
  const int reused = static_cast<int>(turn1.size() + ref1.size()) - 1;
  EXPECT_EQ(seq.value()->position(), reused);
  EXPECT_EQ(fresh->stats().reused_tokens, static_cast<std::uint64_t>(reused));
  EXPECT_EQ(fresh->stats().parked, 0);
  ASSERT_TRUE(seq.value()->append(std::span<const TokenId>(conversation).subspan(reused)).ok());
  EXPECT_EQ(seq.value()->generate(greedy(12), nullptr).value().tokens, ref2);
}

TEST(SequencePool, RewindAppendAndContinuationLogitsOnAPooledSequence) {
  auto pool = open_pool(kEmbedded, W::kAsStored);
  ASSERT_TRUE(pool);
  CpuModelOptions o;
  o.threads = 2;
  auto single = open_cpu_model(kEmbedded, o);
  ASSERT_TRUE(single.ok());
  auto seq = pool->open();
  ASSERT_TRUE(seq.ok());
  auto* local = dynamic_cast<LocalModel*>(seq.value().get());
  ASSERT_NE(local, nullptr);
  const auto ids = prompt(3, 4096);
  ASSERT_TRUE(local->append(ids).ok());
  ASSERT_TRUE((*single)->append(ids).ok());
  const auto first = local->generate(greedy(10), nullptr).value().tokens;
  EXPECT_EQ((*single)->generate(greedy(10), nullptr).value().tokens, first);
  ASSERT_TRUE(local->rewind(static_cast<int>(ids.size())).ok());
  EXPECT_EQ(local->generate(greedy(10), nullptr).value().tokens, first);
  ASSERT_TRUE(local->rewind(static_cast<int>(ids.size())).ok());
  ASSERT_TRUE((*single)->rewind(static_cast<int>(ids.size())).ok());
  EXPECT_EQ(local->last_logits().value(), (*single)->last_logits().value());  // both recompute the last position
  // The tool-name choice: continuation logits equal CpuModel's, and leave the sequence as it was.
  const std::vector<std::vector<TokenId>> conts = {{}, {5}, {100, 200, 300}};
  std::vector<std::vector<float>> got, want;
  ASSERT_TRUE(local->continuation_logits(conts, [&](std::size_t, std::span<const float> rows) {
    got.emplace_back(rows.begin(), rows.end());
  }).ok());
  ASSERT_TRUE((*single)->continuation_logits(conts, [&](std::size_t, std::span<const float> rows) {
    want.emplace_back(rows.begin(), rows.end());
  }).ok());
  EXPECT_EQ(got, want);
  EXPECT_EQ(local->position(), static_cast<int>(ids.size()));
  EXPECT_EQ(local->generate(greedy(10), nullptr).value().tokens, first);
}

TEST(SequencePool, BadInputIsRefusedAndChangesNothing) {
  auto pool = open_pool(fixture_dir("glm4-tiny-f32"), W::kAsStored);
  ASSERT_TRUE(pool);
  auto seq = pool->open();
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(seq.value()->append(prompt(0, 1024)).ok());
  for (TokenId bad : {-1, 1024, 1 << 30}) {
    const std::vector<TokenId> ids = {3, bad};
    const Status s = seq.value()->append(ids);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(seq.value()->position(), 5);
  }
  EXPECT_EQ(seq.value()->rewind(6).error().code, ErrorCode::kOutOfRange);
  auto empty = pool->open();
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value()->generate(greedy(3), nullptr).error().code, ErrorCode::kInvalidArgument);
}

TEST(SequencePool, LimitsAndDevicesAreChecked) {
  SequencePoolOptions options;
  options.max_sequences = 2;
  auto pool = open_pool(fixture_dir("glm4-tiny-f32"), W::kAsStored, options);
  ASSERT_TRUE(pool);
  auto a = pool->open(), b = pool->open();
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = pool->open();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kResourceExhausted);
  a.value().reset();
  EXPECT_TRUE(pool->open().ok());

  CpuModelOptions o;
  SequencePoolOptions cuda;
  cuda.device = "cuda";
  auto refused = open_cpu_sequence_pool(fixture_dir("glm4-tiny-f32"), o, cuda);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("CPU backend only"), std::string::npos);
  SequencePoolOptions bad;
  bad.max_sequences = 0;
  EXPECT_EQ(open_cpu_sequence_pool(fixture_dir("glm4-tiny-f32"), o, bad).error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(open_cpu_sequence_pool("/nonexistent-model", o, {}).ok());
}

}  // namespace
}  // namespace alltools::model
