// The CUDA backend as a LanguageModel (label gpu; skipped with the reason when no CUDA device is usable):
// every HF reference fixture passes the reference check (f32 to 1e-3 like the CPU; bf16 compute to a stated
// relative tolerance), the CPU and CUDA backends agree on the same weights, batched prefill equals the decode
// graph token by token, rewind recomputes, seeded sampling repeats, and bad input is an error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "model/cpu/cpu_model.h"
#include "model/cpu/reference_check.h"
#include "model/cuda/cuda_model.h"
#include "tests/model/test_paths.h"
#include "tests/model_cuda/gpu_test_support.h"

namespace alltools::model {
namespace {

using testing::fixture_dir;
using W = CpuModelOptions::WeightType;


std::unique_ptr<LocalModel> open_gpu(const std::string& dir, CudaModelOptions o = {}) {
  auto m = open_cuda_model(dir, o);
  EXPECT_TRUE(m.ok()) << m.error();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::unique_ptr<LocalModel> synthetic_gpu(W type, CudaModelOptions o = {}) {
  o.weights = type;
  auto m = open_synthetic_cuda_model(SyntheticSpec{"tiny", 0, 3}, o);
  EXPECT_TRUE(m.ok()) << m.error();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::vector<TokenId> prompt(int n, int vocab = 1000) {
  std::vector<TokenId> ids;
  for (int i = 0; i < n; ++i) ids.push_back(static_cast<TokenId>((i * 37 + 11) % vocab));
  return ids;
}

double max_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double e = std::fabs(double(a[i]) - b[i]);
    if (!(e <= d)) d = std::isnan(e) ? INFINITY : e;
  }
  return d;
}

double max_abs(std::span<const float> a) {
  double m = 0.0;
  for (float v : a) m = std::max(m, std::fabs(double(v)));
  return m;
}

struct FixtureCase {
  const char* name;
  W weights;
  double tolerance;
  bool relative;
  int min_greedy;
};

class CudaFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(CudaFixture, MatchesReference) {
  SKIP_WITHOUT_GPU();
  const FixtureCase& c = GetParam();
  const std::string dir = fixture_dir(c.name);
  ASSERT_TRUE(std::filesystem::exists(dir + "/reference.safetensors")) << "missing fixture " << dir;
  CudaModelOptions o;
  o.weights = c.weights;
  auto m = open_gpu(dir, o);
  ASSERT_TRUE(m);
  ReferenceCheckOptions options;
  options.tolerance = c.tolerance;
  options.relative = c.relative;
  options.min_greedy_match = c.min_greedy;
  auto r = run_reference_check(*m, dir + "/reference.safetensors", options);
  ASSERT_TRUE(r.ok()) << r.error();
  std::printf("[ %s %s ] max abs logit error %.3g (tolerance %.3g, largest |logit| %.3g), step error %.3g, "
              "greedy %d/%zu (%s)\n",
              c.name, std::string(weight_type_name(c.weights)).c_str(), r->max_abs_error, r->tolerance,
              r->max_abs_reference, r->max_step_error, r->greedy_matched, r->expected.size(), r->kernel.c_str());
  EXPECT_TRUE(r->passed);
  if (c.min_greedy < 0) {
    EXPECT_EQ(r->actual, r->expected);
  }
}

// f32 checkpoints and --dtype f32 run f32 end to end: the CPU's tolerance. bf16 compute rounds every GEMM input
// and the prefill attention operands to bf16 (8 significant bits): 3 % of the logit scale. int8: greedy prefix.
INSTANTIATE_TEST_SUITE_P(
    Fixtures, CudaFixture,
    ::testing::Values(FixtureCase{"glm-tiny-f32", W::kAsStored, 1e-3, false, -1},
                      FixtureCase{"glm4-tiny-f32", W::kAsStored, 1e-3, false, -1},
                      FixtureCase{"glm-tiny-bf16", W::kF32, 1e-3, false, -1},
                      FixtureCase{"glm-tiny-bf16-chatglm", W::kF32, 1e-3, false, -1},
                      FixtureCase{"glm-tiny-bf16", W::kAsStored, 3e-2, true, -1},
                      FixtureCase{"glm-tiny-bf16-chatglm", W::kAsStored, 3e-2, true, -1},
                      FixtureCase{"glm4-tiny-f32", W::kBF16, 3e-2, true, -1},
                      FixtureCase{"glm-tiny-f32", W::kInt8, INFINITY, false, 8},
                      FixtureCase{"glm-tiny-bf16", W::kInt8, INFINITY, false, 8}),
    [](const ::testing::TestParamInfo<FixtureCase>& param) {
      std::string n = std::string(param.param.name) + "_" + std::string(weight_type_name(param.param.weights));
      for (char& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n;
    });

TEST(CudaModel, AgreesWithTheCpuBackendOnTheSameWeights) {
  SKIP_WITHOUT_GPU();
  for (W type : {W::kF32, W::kBF16}) {
    CpuModelOptions co;
    co.weights = type;
    auto cpu = open_synthetic_cpu_model(SyntheticSpec{"tiny", 0, 3}, co);
    ASSERT_TRUE(cpu.ok()) << cpu.error();
    auto gpu = synthetic_gpu(type);
    ASSERT_TRUE(gpu);
    const auto ids = prompt(60);
    auto a = cpu.value()->append_with_logits(ids);
    auto b = gpu->append_with_logits(ids);
    ASSERT_TRUE(a.ok() && b.ok());
    const double scale = max_abs(a.value());
    const double err = max_diff(a.value(), b.value());
    std::printf("[ synthetic tiny %s ] cpu vs cuda max abs diff %.3g (largest |logit| %.3g)\n",
                std::string(weight_type_name(type)).c_str(), err, scale);
    EXPECT_LT(err, type == W::kF32 ? 1e-3 : 3e-2 * scale);
    GenerateRequest req;
    req.max_new_tokens = 12;
    auto ga = cpu.value()->generate(req, nullptr);
    auto gb = gpu->generate(req, nullptr);
    ASSERT_TRUE(ga.ok() && gb.ok());
    if (type == W::kF32) {
      EXPECT_EQ(ga->tokens, gb->tokens);
    }
  }
}

TEST(CudaModel, BatchedPrefillEqualsTheDecodeGraphTokenByToken) {
  SKIP_WITHOUT_GPU();
  auto batched = open_gpu(fixture_dir("glm-tiny-f32"));
  auto stepped = open_gpu(fixture_dir("glm-tiny-f32"));
  CudaModelOptions eager;
  eager.use_graph = false;
  auto plain = open_gpu(fixture_dir("glm-tiny-f32"), eager);
  ASSERT_TRUE(batched && stepped && plain);
  const auto ids = prompt(120);
  auto all = batched->append_with_logits(ids);
  ASSERT_TRUE(all.ok()) << all.error();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(stepped->append(std::span<const TokenId>(&ids[i], 1)).ok());
    ASSERT_TRUE(plain->append(std::span<const TokenId>(&ids[i], 1)).ok());
    if (i % 17 == 0 || i + 1 == ids.size()) {
      auto step = stepped->last_logits();
      auto eager_step = plain->last_logits();
      ASSERT_TRUE(step.ok() && eager_step.ok());
      const std::span<const float> row(all->data() + i * 1024, 1024);
      EXPECT_LT(max_diff(step.value(), row), 1e-4) << "position " << i;
      EXPECT_EQ(max_diff(step.value(), eager_step.value()), 0.0) << "graph replay differs from eager launches";
    }
  }
}

TEST(CudaModel, PrefillChunksAndFlashAttentionAcrossChunksAgree) {
  SKIP_WITHOUT_GPU();
  CudaModelOptions small;
  small.max_prefill_chunk = 48;  // 200 tokens = 5 chunks, each attending to the cache the earlier ones wrote
  auto chunked = synthetic_gpu(W::kBF16, small);
  auto whole = synthetic_gpu(W::kBF16);
  ASSERT_TRUE(chunked && whole);
  const auto ids = prompt(200);
  ASSERT_TRUE(chunked->append(ids).ok());
  ASSERT_TRUE(whole->append(ids).ok());
  auto a = chunked->last_logits();
  auto b = whole->last_logits();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(max_diff(a.value(), b.value()), 1e-2 * max_abs(b.value()));
}

TEST(CudaModel, RewindRecomputesAndAppendContinues) {
  SKIP_WITHOUT_GPU();
  auto m = open_gpu(fixture_dir("glm4-tiny-f32"));
  ASSERT_TRUE(m);
  const auto first = prompt(30), second = prompt(10, 500);
  ASSERT_TRUE(m->append(first).ok());
  auto l1 = m->last_logits();
  ASSERT_TRUE(m->append(second).ok());
  auto l2 = m->last_logits();
  ASSERT_TRUE(m->rewind(30).ok());
  EXPECT_EQ(m->position(), 30);
  auto l1_again = m->last_logits();
  ASSERT_TRUE(m->append(second).ok());
  auto l2_again = m->last_logits();
  ASSERT_TRUE(l1.ok() && l2.ok() && l1_again.ok() && l2_again.ok());
  EXPECT_LT(max_diff(l1.value(), l1_again.value()), 1e-4);
  EXPECT_LT(max_diff(l2.value(), l2_again.value()), 1e-4);
  EXPECT_FALSE(m->rewind(41).ok());
}

// continuation_logits on the device: each alternative's rows are those a real append gives, and afterwards the
// kept logits (written back to the device) and the decode graph's next tokens are as if nothing had run.
TEST(CudaModel, ContinuationLogitsLeaveTheCacheAndTheDecodeGraphAsTheyWere) {
  SKIP_WITHOUT_GPU();
  auto m = open_gpu(fixture_dir("glm-tiny-bf16"));
  auto ref = open_gpu(fixture_dir("glm-tiny-bf16"));
  ASSERT_TRUE(m && ref);
  const auto ids = prompt(20);
  ASSERT_TRUE(m->append(ids).ok());
  ASSERT_TRUE(ref->append(ids).ok());
  auto before = m->last_logits();
  ASSERT_TRUE(before.ok());
  const std::vector<std::vector<TokenId>> alternatives = {{5, 6, 7}, {}, {900, 3}};
  std::vector<std::vector<float>> seen(alternatives.size());
  Status s = m->continuation_logits(alternatives, [&](std::size_t i, std::span<const float> rows) {
    seen[i].assign(rows.begin(), rows.end());
  });
  ASSERT_TRUE(s.ok()) << s.error();
  const std::size_t vocab = static_cast<std::size_t>(m->info().vocab_size);
  for (std::size_t i = 0; i < alternatives.size(); ++i) {
    ASSERT_EQ(seen[i].size(), (alternatives[i].size() + 1) * vocab) << i;
    EXPECT_EQ(max_diff(std::span<const float>(seen[i]).first(vocab), before.value()), 0.0) << i;
    if (alternatives[i].empty()) continue;
    auto rows = ref->append_with_logits(alternatives[i]);
    ASSERT_TRUE(rows.ok());
    EXPECT_LT(max_diff(std::span<const float>(seen[i]).subspan(vocab), rows.value()), 1e-3) << i;
    ASSERT_TRUE(ref->rewind(20).ok());
  }
  EXPECT_EQ(m->position(), 20);
  auto fresh = open_gpu(fixture_dir("glm-tiny-bf16"));  // never ran an alternative
  ASSERT_TRUE(fresh && fresh->append(ids).ok());
  GenerateRequest req;
  req.max_new_tokens = 8;
  auto got = m->generate(req, nullptr);
  auto want = fresh->generate(req, nullptr);
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_EQ(got->tokens, want->tokens);
}

TEST(CudaModel, SeededSamplingRepeatsAndStopIdsStop) {
  SKIP_WITHOUT_GPU();
  auto m = synthetic_gpu(W::kBF16);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->append(prompt(16)).ok());
  GenerateRequest req;
  req.sampling.temperature = 0.9f;
  req.sampling.top_p = 0.95f;
  req.sampling.top_k = 50;
  req.sampling.repetition_penalty = 1.1f;
  req.sampling.seed = 7;
  req.max_new_tokens = 24;
  auto a = m->generate(req, nullptr);
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(m->rewind(16).ok());
  auto b = m->generate(req, nullptr);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->tokens, b->tokens);
  EXPECT_EQ(a->tokens.size(), 24u);
  // Stop on the third token of the sequence: generation ends there and keeps it in the cache.
  ASSERT_TRUE(m->rewind(16).ok());
  req.stop_ids = {a->tokens[2]};
  auto c = m->generate(req, nullptr);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->finish, FinishReason::kStopToken);
  EXPECT_LE(c->tokens.size(), 3u);
  EXPECT_EQ(m->position(), 16 + static_cast<int>(c->tokens.size()));
}

TEST(CudaModel, BadInputIsAnErrorAndLosesNothing) {
  SKIP_WITHOUT_GPU();
  CudaModelOptions o;
  o.max_context = 64;
  auto m = open_gpu(fixture_dir("glm-tiny-bf16"), o);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->info().max_context, 64);
  EXPECT_FALSE(m->last_logits().ok());  // empty cache
  ASSERT_TRUE(m->append(prompt(10)).ok());
  const TokenId bad[] = {5, 1024};
  auto r = m->append(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(m->position(), 10);
  auto over = m->append(prompt(55));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(m->position(), 10);
  EXPECT_TRUE(m->last_logits().ok());
  CudaModelOptions huge;
  huge.max_context = 1 << 30;
  EXPECT_FALSE(open_cuda_model(fixture_dir("glm-tiny-bf16"), huge).ok());
}

TEST(CudaModel, WithoutAGpuTheBackendSaysSo) {
  const Status s = cuda_available();
  if (s.ok()) GTEST_SKIP() << "a GPU is present";
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  auto m = open_cuda_model(fixture_dir("glm-tiny-f32"), {});
  ASSERT_FALSE(m.ok());
  EXPECT_FALSE(m.error().message.empty());
}

}  // namespace
}  // namespace alltools::model
