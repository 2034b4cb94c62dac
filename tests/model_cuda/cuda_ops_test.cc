// Op-by-op checks of the CUDA kernels against references computed here in double precision (label gpu; skipped
// without a GPU): GEMV in every weight format with every prologue/epilogue and both the vector and scalar paths,
// int8 quantization against the CPU backend's rule, RoPE + cache write, split-key attention and tensor-core flash
// attention, and the sampler. Inputs are random (fixed seeds), outputs are poisoned before every run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "model/cpu/kernels.h"
#include "model/cuda/cuda_model.h"
#include "model/cuda/kernels.h"
#include "tests/model_cuda/gpu_test_support.h"

namespace alltools::model::cuda {
namespace {


#define CUDA_OK(expr) ASSERT_EQ((expr), cudaSuccess) << #expr << ": " << cudaGetErrorString(cudaGetLastError())

// A device copy of a host vector (or `n` poisoned elements), freed at scope exit.
template <typename T>
struct Dev {
  T* p = nullptr;
  std::size_t n = 0;
  explicit Dev(std::size_t count) : n(count) {
    EXPECT_EQ(cudaMalloc(&p, sizeof(T) * (n ? n : 1)), cudaSuccess);
    EXPECT_EQ(cudaMemset(p, 0xff, sizeof(T) * (n ? n : 1)), cudaSuccess);  // NaN for floats
  }
  explicit Dev(const std::vector<T>& v) : Dev(v.size()) {
    EXPECT_EQ(cudaMemcpy(p, v.data(), sizeof(T) * n, cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~Dev() { cudaFree(p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  std::vector<T> host() const {
    std::vector<T> v(n);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(v.data(), p, sizeof(T) * n, cudaMemcpyDeviceToHost), cudaSuccess);
    return v;
  }
};

std::vector<float> random_vector(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

float bf16_round(float f) { return cpu::bf16_to_f32(cpu::f32_to_bf16(f)); }

// ---- GEMV --------------------------------------------------------------------------------------------------------

struct GemvCase {
  DevFormat format;
  int rows, cols;
};

class Gemv : public ::testing::TestWithParam<GemvCase> {};

TEST_P(Gemv, EveryPrologueAndEpilogueMatchesDouble) {
  SKIP_WITHOUT_GPU();
  const GemvCase c = GetParam();
  const std::size_t n = static_cast<std::size_t>(c.rows) * c.cols;
  const std::vector<float> w = random_vector(n, 1), x = random_vector(c.cols, 2, -2.0f, 2.0f);
  const std::vector<float> g = random_vector(c.cols, 3, 0.5f, 1.5f), bias = random_vector(c.rows, 4);
  const std::vector<float> y0 = random_vector(c.rows, 5);
  Dev<float> w_src(w);
  // The weights as the kernel sees them (converted or quantized on the device), and their exact values here.
  Dev<char> w_dev(n * dev_format_bytes(c.format));
  Dev<float> scales(c.rows);
  std::vector<double> weff(n);
  if (c.format == DevFormat::kI8) {
    CUDA_OK(launch_quantize_rows(w_src.p, HostFormat::kF32, c.rows, c.cols, reinterpret_cast<std::int8_t*>(w_dev.p),
                                 scales.p, nullptr));
    const std::vector<char> q = w_dev.host();
    const std::vector<float> s = scales.host();
    for (std::size_t i = 0; i < n; ++i) weff[i] = static_cast<double>(static_cast<std::int8_t>(q[i])) * s[i / c.cols];
  } else {
    CUDA_OK(launch_convert(w_src.p, HostFormat::kF32, w_dev.p, c.format, n, nullptr));
    for (std::size_t i = 0; i < n; ++i) weff[i] = c.format == DevFormat::kBF16 ? bf16_round(w[i]) : w[i];
  }
  Dev<float> x_dev(x), g_dev(g), b_dev(bias);
  for (GemvIn in : {GemvIn::kPlain, GemvIn::kRmsNorm}) {
    std::vector<double> xin(x.begin(), x.end());
    if (in == GemvIn::kRmsNorm) {
      double ss = 0;
      for (float v : x) ss += double(v) * v;
      const double inv = 1.0 / std::sqrt(ss / c.cols + 1e-5);
      for (int k = 0; k < c.cols; ++k) xin[k] = x[k] * inv * g[k];
    }
    std::vector<double> dot(c.rows), mag(c.rows);
    for (int r = 0; r < c.rows; ++r) {
      for (int k = 0; k < c.cols; ++k) {
        dot[r] += weff[static_cast<std::size_t>(r) * c.cols + k] * xin[k];
        mag[r] += std::fabs(weff[static_cast<std::size_t>(r) * c.cols + k] * xin[k]);
      }
    }
    for (GemvOut out : {GemvOut::kStore, GemvOut::kBias, GemvOut::kAccumulate, GemvOut::kSwiGlu}) {
      if (out == GemvOut::kSwiGlu && c.rows % 2 != 0) continue;
      Dev<float> y(out == GemvOut::kAccumulate ? y0 : std::vector<float>(c.rows, NAN));
      GemvArgs a;
      a.w = DevMatrix{c.format, c.rows, c.cols, w_dev.p, scales.p};
      a.x = x_dev.p, a.norm = g_dev.p, a.eps = 1e-5f, a.bias = b_dev.p, a.y = y.p;
      CUDA_OK(launch_gemv(in, out, a, nullptr));
      const std::vector<float> got = y.host();
      const int outputs = out == GemvOut::kSwiGlu ? c.rows / 2 : c.rows;
      for (int r = 0; r < outputs; ++r) {
        double want, tol;
        if (out == GemvOut::kSwiGlu) {
          const double gg = dot[r], uu = dot[r + c.rows / 2];
          want = gg / (1.0 + std::exp(-gg)) * uu;
          tol = 3e-5 * (mag[r] * (std::fabs(uu) + 1) + mag[r + c.rows / 2] * (std::fabs(gg) + 1)) + 1e-6;
        } else {
          want = dot[r] + (out == GemvOut::kBias ? bias[r] : 0.0) + (out == GemvOut::kAccumulate ? y0[r] : 0.0);
          tol = 3e-5 * mag[r] + 1e-6;
        }
        ASSERT_NEAR(got[r], want, tol) << dev_format_name(c.format) << " row " << r << " in " << int(in) << " out "
                                       << int(out);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Gemv,
                         ::testing::Values(GemvCase{DevFormat::kF32, 7, 37}, GemvCase{DevFormat::kBF16, 7, 37},
                                           GemvCase{DevFormat::kI8, 7, 37}, GemvCase{DevFormat::kF32, 64, 128},
                                           GemvCase{DevFormat::kBF16, 300, 4096}, GemvCase{DevFormat::kI8, 300, 4096},
                                           GemvCase{DevFormat::kBF16, 96, 13696}, GemvCase{DevFormat::kI8, 96, 13696},
                                           GemvCase{DevFormat::kBF16, 2, 24}));

TEST(CudaOps, QuantizationFollowsTheCpuRule) {
  SKIP_WITHOUT_GPU();
  const int rows = 33, cols = 515;
  std::vector<float> w = random_vector(static_cast<std::size_t>(rows) * cols, 9, -3.0f, 3.0f);
  for (int k = 0; k < cols; ++k) w[5 * cols + k] = 0.0f;  // an all-zero row: scale 1
  Dev<float> src(w);
  Dev<std::int8_t> q(w.size());
  Dev<float> s(rows);
  CUDA_OK(launch_quantize_rows(src.p, HostFormat::kF32, rows, cols, q.p, s.p, nullptr));
  const auto qh = q.host();
  const auto sh = s.host();
  for (int r = 0; r < rows; ++r) {
    float amax = 0;
    for (int k = 0; k < cols; ++k) amax = std::max(amax, std::fabs(w[r * cols + k]));
    const float scale = amax > 0 ? amax / 127.0f : 1.0f;
    ASSERT_EQ(sh[r], scale) << "row " << r;
    for (int k = 0; k < cols; ++k) {
      const float want = std::clamp(std::nearbyint(w[r * cols + k] * (1.0f / scale)), -127.0f, 127.0f);
      ASSERT_EQ(qh[r * cols + k], static_cast<std::int8_t>(want)) << r << "," << k;
    }
  }
}

// ---- RoPE + cache -------------------------------------------------------------------------------------------------

TEST(CudaOps, RopeAddsBiasRotatesAndFillsTheCache) {
  SKIP_WITHOUT_GPU();
  const int heads = 4, kv_heads = 2, hd = 32, rot = 16, T = 5, start = 11;
  const int q_dim = heads * hd, kv_dim = kv_heads * hd, width = q_dim + 2 * kv_dim;
  const std::vector<float> qkv = random_vector(static_cast<std::size_t>(T) * width, 11);
  const std::vector<float> bias = random_vector(width, 12);
  std::vector<float> inv(rot / 2);
  for (int j = 0; j < rot / 2; ++j) inv[j] = static_cast<float>(1.0 / std::pow(10000.0, 2.0 * j / rot));
  for (bool bf16 : {false, true}) {
    Dev<float> d_qkv(qkv), d_bias(bias), d_inv(inv);
    const std::size_t cap = 32;
    Dev<float> kc(cap * kv_dim), vc(cap * kv_dim);  // f32-sized either way
    RopeCacheArgs a;
    a.qkv = d_qkv.p, a.bias = d_bias.p, a.inv_freq = d_inv.p, a.tokens = T, a.start = start;
    a.num_heads = heads, a.num_kv_heads = kv_heads, a.head_dim = hd, a.rotary_dim = rot;
    a.k_cache = kc.p, a.v_cache = vc.p, a.cache_bf16 = bf16;
    CUDA_OK(launch_rope_cache(a, nullptr));
    const auto out = d_qkv.host();
    const auto kh = kc.host(), vh = vc.host();
    for (int t = 0; t < T; ++t) {
      std::vector<double> row(width);
      for (int i = 0; i < width; ++i) row[i] = double(qkv[t * width + i]) + bias[i];
      std::vector<double> want = row;
      for (int h = 0; h < heads + kv_heads; ++h) {
        for (int j = 0; j < rot / 2; ++j) {
          const double ang = double(start + t) * inv[j];
          const double e = row[h * hd + 2 * j], o = row[h * hd + 2 * j + 1];
          want[h * hd + 2 * j] = e * std::cos(ang) - o * std::sin(ang);
          want[h * hd + 2 * j + 1] = o * std::cos(ang) + e * std::sin(ang);
        }
      }
      for (int i = 0; i < q_dim; ++i) ASSERT_NEAR(out[t * width + i], want[i], 1e-5) << t << "," << i;
      for (int i = 0; i < kv_dim; ++i) {
        const std::size_t at = static_cast<std::size_t>(start + t) * kv_dim + i;
        float k, v;
        if (bf16) {
          const auto* k16 = reinterpret_cast<const std::uint16_t*>(kh.data());
          const auto* v16 = reinterpret_cast<const std::uint16_t*>(vh.data());
          k = cpu::bf16_to_f32(k16[at]);
          v = cpu::bf16_to_f32(v16[at]);
        } else {
          k = kh[at];
          v = vh[at];
        }
        const double tol = bf16 ? 1e-2 * (std::fabs(want[q_dim + i]) + 1e-3) : 1e-5;
        ASSERT_NEAR(k, want[q_dim + i], tol) << "key " << t << "," << i;
        ASSERT_NEAR(v, want[q_dim + kv_dim + i], bf16 ? 1e-2 * (std::fabs(want[q_dim + kv_dim + i]) + 1e-3) : 1e-6);
      }
    }
  }
}

// ---- attention ----------------------------------------------------------------------------------------------------

struct AttnCase {
  int head_dim, heads, kv_heads, tokens, start;
};
class Attention : public ::testing::TestWithParam<AttnCase> {};

TEST_P(Attention, SplitKeyAndFlashKernelsMatchDouble) {
  SKIP_WITHOUT_GPU();
  const AttnCase c = GetParam();
  const int hd = c.head_dim, q_dim = c.heads * hd, kv_dim = c.kv_heads * hd, width = q_dim + 2 * kv_dim;
  const int len = c.start + c.tokens, group = c.heads / c.kv_heads;
  const std::vector<float> qkv = random_vector(static_cast<std::size_t>(c.tokens) * width, 21, -2.0f, 2.0f);
  std::vector<float> kf = random_vector(static_cast<std::size_t>(len) * kv_dim, 22, -2.0f, 2.0f);
  std::vector<float> vf = random_vector(static_cast<std::size_t>(len) * kv_dim, 23);
  std::vector<std::uint16_t> kb(kf.size()), vb(vf.size());
  for (std::size_t i = 0; i < kf.size(); ++i) {
    kb[i] = cpu::f32_to_bf16(kf[i]);
    vb[i] = cpu::f32_to_bf16(vf[i]);
  }
  // Double reference on given k/v (f32 or the bf16-rounded copies).
  const auto reference = [&](bool bf16, bool round_q) {
    std::vector<double> out(static_cast<std::size_t>(c.tokens) * q_dim);
    for (int t = 0; t < c.tokens; ++t) {
      for (int h = 0; h < c.heads; ++h) {
        const int kvh = h / group;
        std::vector<double> s(c.start + t + 1);
        double mx = -INFINITY;
        for (int p = 0; p <= c.start + t; ++p) {
          double acc = 0;
          for (int d = 0; d < hd; ++d) {
            const float qv = qkv[t * width + h * hd + d];
            const double q = round_q ? bf16_round(qv / std::sqrt(float(hd)) * 1.4426950408889634f) : qv;
            const std::size_t at = static_cast<std::size_t>(p) * kv_dim + kvh * hd + d;
            acc += q * (bf16 ? cpu::bf16_to_f32(kb[at]) : kf[at]);
          }
          s[p] = round_q ? acc / 1.4426950408889634 : acc / std::sqrt(double(hd));
          mx = std::max(mx, s[p]);
        }
        double z = 0;
        for (double& v : s) z += (v = std::exp(v - mx));
        for (int d = 0; d < hd; ++d) {
          double acc = 0;
          for (int p = 0; p <= c.start + t; ++p) {
            const std::size_t at = static_cast<std::size_t>(p) * kv_dim + kvh * hd + d;
            acc += s[p] * (bf16 ? cpu::bf16_to_f32(vb[at]) : vf[at]);
          }
          out[static_cast<std::size_t>(t) * q_dim + h * hd + d] = acc / z;
        }
      }
    }
    return out;
  };
  Dev<float> d_qkv(qkv), d_kf(kf), d_vf(vf);
  Dev<std::uint16_t> d_kb(kb), d_vb(vb);
  for (bool bf16 : {false, true}) {
    const std::vector<double> want = reference(bf16, false);
    for (const auto& [splits, min_chunk] : {std::pair{1, 64}, std::pair{7, 64}, std::pair{7, 32}, std::pair{40, 32}}) {
      Dev<float> out(static_cast<std::size_t>(c.tokens) * q_dim);
      Dev<float> scratch(attention_scratch_floats(c.tokens, c.heads, hd, splits));
      AttentionArgs a;
      a.min_chunk = min_chunk;
      a.qkv = d_qkv.p, a.width = width, a.k_cache = bf16 ? static_cast<void*>(d_kb.p) : d_kf.p;
      a.v_cache = bf16 ? static_cast<void*>(d_vb.p) : d_vf.p, a.cache_bf16 = bf16, a.tokens = c.tokens;
      a.start = c.start, a.num_heads = c.heads, a.num_kv_heads = c.kv_heads, a.head_dim = hd, a.out = out.p;
      a.scratch = scratch.p, a.splits = splits;
      CUDA_OK(launch_attention(a, nullptr));
      const auto got = out.host();
      for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_NEAR(got[i], want[i], 5e-5) << "split-key " << i << ", " << splits << " splits of >= " << min_chunk;
      }
    }
  }
  if (!flash_attention_supported(hd)) return;
  // Flash: bf16 operands (queries rounded after scaling, probabilities rounded for P V): within bf16 error of
  // the double result on the same bf16 keys and values.
  const std::vector<double> want = reference(true, true);
  Dev<std::uint16_t> out(static_cast<std::size_t>(c.tokens) * q_dim);
  AttentionArgs a;
  a.qkv = d_qkv.p, a.width = width, a.k_cache = d_kb.p, a.v_cache = d_vb.p, a.cache_bf16 = true;
  a.tokens = c.tokens, a.start = c.start, a.num_heads = c.heads, a.num_kv_heads = c.kv_heads, a.head_dim = hd;
  a.out = out.p, a.out_bf16 = true;
  CUDA_OK(launch_flash_attention(a, nullptr));
  const auto got = out.host();
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = cpu::bf16_to_f32(got[i]);
    ASSERT_TRUE(std::isfinite(g)) << "flash output " << i << " not written";
    worst = std::max(worst, std::fabs(g - want[i]));
  }
  std::printf("[ flash hd %d T %d start %d ] max abs error %.3g vs double\n", hd, c.tokens, c.start, worst);
  EXPECT_LT(worst, 2e-2);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Attention,
                         ::testing::Values(AttnCase{32, 4, 2, 70, 50}, AttnCase{64, 8, 2, 65, 0},
                                           AttnCase{128, 32, 2, 100, 130}, AttnCase{128, 32, 2, 1, 300},
                                           AttnCase{48, 4, 4, 9, 3}));

// ---- sampling -----------------------------------------------------------------------------------------------------

struct Sampled {
  std::vector<int> counts;
};

Sampled draw(const std::vector<float>& logits, SampleArgs base, int draws, std::uint64_t seed) {
  Sampled s{std::vector<int>(logits.size(), 0)};
  Dev<float> l(logits.size());
  Dev<std::int32_t> tok(1);
  Dev<std::uint64_t> rng(std::vector<std::uint64_t>{seed});
  for (int i = 0; i < draws; ++i) {
    EXPECT_EQ(cudaMemcpy(l.p, logits.data(), logits.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
    SampleArgs a = base;
    a.logits = l.p, a.vocab = static_cast<int>(logits.size()), a.rng_state = rng.p, a.token_out = tok.p;
    EXPECT_EQ(launch_sample(a, nullptr), cudaSuccess);
    const int t = tok.host()[0];
    EXPECT_GE(t, 0);
    EXPECT_LT(t, static_cast<int>(logits.size()));
    if (t >= 0 && t < static_cast<int>(logits.size())) ++s.counts[t];
  }
  return s;
}

TEST(CudaOps, SamplerGreedyTopKTopPAndPenalty) {
  SKIP_WITHOUT_GPU();
  // Greedy: lowest id wins a tie, across a vocabulary larger than the block.
  std::vector<float> tie(5000, -1.0f);
  tie[4321] = 3.0f;
  tie[1234] = 3.0f;
  SampleArgs greedy;
  EXPECT_EQ(draw(tie, greedy, 1, 1).counts[1234], 1);

  // p = 0.4 0.3 0.2 0.1 over a vocabulary of 3000 (the rest at -inf-ish).
  std::vector<float> logits(3000, -1e4f);
  const double p[] = {0.4, 0.3, 0.2, 0.1};
  for (int i = 0; i < 4; ++i) logits[100 * i + 7] = static_cast<float>(std::log(p[i]));
  SampleArgs t1;
  t1.temperature = 1.0f;
  const Sampled free = draw(logits, t1, 2000, 42);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(free.counts[100 * i + 7] / 2000.0, p[i], 0.04) << "token " << 100 * i + 7;
  }
  SampleArgs k2 = t1;
  k2.top_k = 2;
  const Sampled topk = draw(logits, k2, 400, 43);
  EXPECT_EQ(topk.counts[7] + topk.counts[107], 400);
  EXPECT_NEAR(topk.counts[7] / 400.0, 0.4 / 0.7, 0.08);
  SampleArgs p6 = t1;
  p6.top_p = 0.6f;  // 0.4 < 0.6 <= 0.7: the two most likely tokens
  const Sampled topp = draw(logits, p6, 400, 44);
  EXPECT_EQ(topp.counts[7] + topp.counts[107], 400);
  // Same seed, same draws.
  EXPECT_EQ(draw(logits, t1, 50, 9).counts, draw(logits, t1, 50, 9).counts);

  // Repetition penalty: the seen favourite drops below the runner-up.
  std::vector<float> pen(300, 0.0f);
  pen[10] = 2.0f;
  pen[20] = 1.9f;
  std::vector<std::uint8_t> seen(300, 0);
  seen[10] = 1;
  Dev<std::uint8_t> d_seen(seen);
  SampleArgs rp;
  rp.seen = d_seen.p;
  rp.repetition_penalty = 1.2f;
  EXPECT_EQ(draw(pen, rp, 1, 1).counts[20], 1);
}

}  // namespace
}  // namespace alltools::model::cuda
