// Every SIMD kernel set this CPU runs must agree with the scalar reference for every weight format, with
// token counts and K that exercise the tiles, the K blocks and the scalar tails; matmul_bf16_dot where
// a set has it.
#include "model/cpu/kernels.h"
#include "tests/model/f16_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

namespace alltools::model::cpu {
namespace {

using ::alltools::model::testing::to_f16;

struct Weights {
  std::vector<float> f32;
  std::vector<std::uint16_t> half;  // bf16 or f16 bits
  std::vector<std::int8_t> q;
  std::vector<float> scales;
};


MatrixRef make(WeightFormat format, int rows, int cols, Weights& w, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const std::size_t n = static_cast<std::size_t>(rows) * cols;
  w.f32.resize(n);
  w.half.resize(n);
  w.q.resize(n);
  w.scales.resize(rows);
  for (std::size_t i = 0; i < n; ++i) {
    w.f32[i] = dist(rng);
    w.half[i] = format == WeightFormat::kF16 ? to_f16(w.f32[i]) : f32_to_bf16(w.f32[i]);
    w.q[i] = static_cast<std::int8_t>(std::lrint(w.f32[i] * 127.0f));
  }
  for (int r = 0; r < rows; ++r) w.scales[r] = 0.01f * (r + 1);
  MatrixRef m{format, rows, cols, nullptr, nullptr};
  if (format == WeightFormat::kF32) m.data = w.f32.data();
  if (format == WeightFormat::kBF16 || format == WeightFormat::kF16) m.data = w.half.data();
  if (format == WeightFormat::kI8) {
    m.data = w.q.data();
    m.row_scales = w.scales.data();
  }
  return m;
}

TEST(Kernels, ScalarSetIsAlwaysAvailableAndBestIsListed) {
  const auto sets = available_kernels();
  ASSERT_FALSE(sets.empty());
  EXPECT_STREQ(sets.front()->name, "scalar");
  if (std::getenv("ALLTOOLS_KERNELS") == nullptr) {
    EXPECT_EQ(&best_kernels(), sets.back());
  }
}

TEST(Kernels, ConversionsRoundTrip) {
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.5f)), 1.5f);
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256.0f), f32_to_bf16(1.0f));  // ties to even
  EXPECT_EQ(f16_to_f32(to_f16(-0.375f)), -0.375f);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
}

TEST(Kernels, EverySetMatchesScalar) {
  const KernelSet& ref = *scalar_kernels();
  std::mt19937 rng(7);
  const WeightFormat formats[] = {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kF16, WeightFormat::kI8};
  for (const KernelSet* set : available_kernels()) {
    for (WeightFormat format : formats) {
      for (int cols : {5, 37, 128, 600, 1100, 2100}) {
        for (int tokens : {1, 2, 5, 7, 13, 37}) {
         for (const bool dot_path : {false, true}) {
          if (dot_path && (format != WeightFormat::kBF16 || set->matmul_bf16_dot == nullptr)) continue;
          const int rows = 13;
          Weights w;
          const MatrixRef m = make(format, rows, cols, w, rng);
          std::vector<float> x(static_cast<std::size_t>(tokens) * (cols + 3));
          std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
          for (float& v : x) v = dist(rng);
          const int ldy = rows + 2;
          std::vector<float> want(static_cast<std::size_t>(tokens) * ldy, 0.0f), got = want;
          ref.matmul(m, 1, rows, x.data(), cols + 3, tokens, want.data(), ldy);
          (dot_path ? set->matmul_bf16_dot : set->matmul)(m, 1, rows, x.data(), cols + 3, tokens, got.data(), ldy);
          // matmul_bf16_dot rounds x to bf16 (kernels.h): that adds at most 2^-9 * sum_k |x_k w_k| (bounded here
          // with 2^-8 for the f32 sums on top).
          const bool x_may_round = dot_path;
          for (std::size_t i = 0; i < want.size(); ++i) {
            float x_rounding = 0.0f;
            const int t = static_cast<int>(i) / ldy, r = static_cast<int>(i) % ldy;
            if (x_may_round && r >= 1 && r < rows) {
              for (int k = 0; k < cols; ++k) {
                x_rounding += std::fabs(x[static_cast<std::size_t>(t) * (cols + 3) + k] *
                                        w.f32[static_cast<std::size_t>(r) * cols + k]);
              }
              x_rounding *= 1.0f / 256.0f;
            }
            ASSERT_NEAR(got[i], want[i],
                        1e-4f * (1.0f + std::fabs(want[i])) * std::sqrt(static_cast<float>(cols)) + x_rounding)
                << set->name << (dot_path ? " bf16 dot" : "") << " format " << static_cast<int>(format) << " cols " << cols << " tokens " << tokens
                << " at " << i;
          }
          // Row 0 was outside [1, rows): untouched.
          for (int t = 0; t < tokens; ++t) ASSERT_EQ(got[static_cast<std::size_t>(t) * ldy], 0.0f);
         }
        }
      }
    }
    std::vector<float> a(67), b(67), y(67, 1.0f), y_ref(67, 1.0f);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (int i = 0; i < 67; ++i) a[i] = dist(rng), b[i] = dist(rng);
    EXPECT_NEAR(set->dot(a.data(), b.data(), 67), ref.dot(a.data(), b.data(), 67), 1e-4f) << set->name;
    EXPECT_NEAR(set->sum_squares(a.data(), 67), ref.sum_squares(a.data(), 67), 1e-4f) << set->name;
    set->axpy(0.5f, a.data(), y.data(), 67);
    ref.axpy(0.5f, a.data(), y_ref.data(), 67);
    for (int i = 0; i < 67; ++i) EXPECT_NEAR(y[i], y_ref[i], 1e-6f) << set->name;
  }
}

// Continuous batching: each token's outputs from matvec_batch are bitwise those of matmul for that token alone,
// for every set and format, with K tails, several row blocks and token groups, and int8 past the int16 path.
TEST(Kernels, BatchedDecodeIsBitwiseTheSingleTokenDecode) {
  std::mt19937 rng(11);
  const WeightFormat formats[] = {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kF16, WeightFormat::kI8};
  for (const KernelSet* set : available_kernels()) {
    for (WeightFormat format : formats) {
      for (int cols : {5, 37, 128, 600, 1100, 16400}) {
        if (cols == 16400 && format != WeightFormat::kI8) continue;  // only int8 changes path at that K
        for (int tokens : {2, 3, 5, 17, 33}) {
          const int rows = 13;
          Weights w;
          const MatrixRef m = make(format, rows, cols, w, rng);
          const int ldx = cols + 3;
          std::vector<float> x(static_cast<std::size_t>(tokens) * ldx);
          std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
          for (float& v : x) v = dist(rng);
          const int ldy = rows + 2;
          std::vector<float> batched(static_cast<std::size_t>(tokens) * ldy, 0.0f), alone = batched;
          set->matvec_batch(m, 1, rows, x.data(), ldx, tokens, batched.data(), ldy);
          for (int t = 0; t < tokens; ++t) {
            const std::size_t o = static_cast<std::size_t>(t);
            set->matmul(m, 1, rows, x.data() + o * ldx, ldx, 1, alone.data() + o * ldy, ldy);
          }
          for (std::size_t i = 0; i < alone.size(); ++i) {
            ASSERT_EQ(std::memcmp(&batched[i], &alone[i], sizeof(float)), 0)
                << set->name << " format " << static_cast<int>(format) << " cols " << cols << " tokens " << tokens
                << " at " << i << ": " << batched[i] << " vs " << alone[i];
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace alltools::model::cpu
