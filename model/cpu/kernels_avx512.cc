// AVX-512 (F, BW, VL, DQ) kernel set, plus a bf16 GEMM for CPUs that also report AVX512-BF16 (compiled with
// those flags only in this file; selected at run time).
#include "common/check.h"
#include "model/cpu/kernels.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace alltools::model::cpu {
namespace {

struct Isa {
  using V = __m512;
  static constexpr int kLanes = 16;
  static constexpr int kTileTokens = 6;  // 6 x 4 accumulators + 4 weight vectors + 1 input: 29 zmm registers
  static constexpr int kTileRows = 4;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float a) { return _mm512_set1_ps(a); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
  using VI = __m512i;
  static constexpr int kI16Step = 32;
  static VI izero() { return _mm512_setzero_si512(); }
  static VI madd_i8_i16(const std::int8_t* w, const std::int16_t* x, VI acc) {
    const __m512i w16 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)));
    return _mm512_add_epi32(acc, _mm512_madd_epi16(w16, _mm512_loadu_si512(x)));
  }
  // The two halves of madd_i8_i16, for tiles that reuse a widened weight vector across tokens.
  static VI widen_i8(const std::int8_t* w) { return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w))); }
  static VI load_i16(const std::int16_t* x) { return _mm512_loadu_si512(x); }
  static VI madd_i16(VI w16, VI x, VI acc) { return _mm512_add_epi32(acc, _mm512_madd_epi16(w16, x)); }
  static V to_float(VI v) { return _mm512_cvtepi32_ps(v); }
  static V max_abs(V m, V x) { return _mm512_max_ps(m, _mm512_abs_ps(x)); }
  static float hmax(V v) { return _mm512_reduce_max_ps(v); }
  static void quantize_i16(const float* x, float scale, std::int16_t* out) {
    const __m512 s = _mm512_set1_ps(scale);
    const __m512i a = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), s));
    const __m512i b = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16), s));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtsepi32_epi16(a));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16), _mm512_cvtsepi32_epi16(b));
  }
  template <WeightFormat F>
  static V load_w(const void* base, std::size_t i) {
    if constexpr (F == WeightFormat::kF32) {
      return _mm512_loadu_ps(static_cast<const float*>(base) + i);
    } else if constexpr (F == WeightFormat::kBF16) {
      const __m256i h =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const std::uint16_t*>(base) + i));
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else if constexpr (F == WeightFormat::kF16) {
      return _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const std::uint16_t*>(base) + i)));
    } else {
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::int8_t*>(base) + i));
      return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q));
    }
  }
};

#include "model/cpu/kernels_simd.inc"
#include "model/cpu/kernels_batch.inc"

// ---- bf16 weights, many tokens, on CPUs with AVX512-BF16: x rounded to bf16 once, then vdpbf16ps ----
// Each instruction multiplies 32 bf16 pairs and adds them, pairwise, into 16 f32 lanes: twice the work of an
// f32 FMA and no weight conversion. The only rounding beyond the f32 path's is x -> bf16 (relative 2^-9 per
// element).

bool cpu_has_avx512_bf16() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
}

inline constexpr int kDotBlockK =
    2048;  // K block: x[tokens, kDotBlockK] bf16 (512 KiB at 128 tokens) stays in L2
inline constexpr int kDotTileTokens = 6;  // 6 x 4 accumulators + 4 weight vectors + 1 input: 29 zmm registers
inline constexpr int kDotTileRows = 4;

// [a0, a1, a2, a3] -> [sum a0, sum a1, sum a2, sum a3]: the four horizontal sums with shared shuffles.
__m128 hsum4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  const __m512 s01 =
      _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));  // a0 a1 a0 a1 / lane
  const __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  const __m512 s =
      _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23))),
                    _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23))));
  const __m256 h =
      _mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1));  // a0 a1 a2 a3 / 128 bits
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// y[t][r + j] (+)= x_bf16[t] . W[r + j] over [k0, k0 + kc) for TT tokens and RR rows; kc % 32 == 0 except in
// the last block, whose tail is read with masks (x is zero-padded, the weights must not be read past the
// row).
template <int TT, int RR>
void dot_tile(const std::uint16_t* w, std::size_t K, int r, const std::uint16_t* xb, std::size_t ldxb, int t,
              int k0, int kc, float* y, int ldy, bool first) {
  __m512 acc[TT][RR];
#pragma GCC unroll 8
  for (int i = 0; i < TT; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < RR; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  const std::uint16_t* wr[RR];
#pragma GCC unroll 4
  for (int j = 0; j < RR; ++j) wr[j] = w + (r + j) * K + k0;
  const std::uint16_t* xr[TT];
#pragma GCC unroll 8
  for (int i = 0; i < TT; ++i) xr[i] = xb + (t + i) * ldxb + k0;
  const auto step = [&](int k, __mmask32 mask) {
    __m512bh wv[RR];
#pragma GCC unroll 4
    for (int j = 0; j < RR; ++j) wv[j] = (__m512bh)_mm512_maskz_loadu_epi16(mask, wr[j] + k);
#pragma GCC unroll 8
    for (int i = 0; i < TT; ++i) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(xr[i] + k);
#pragma GCC unroll 4
      for (int j = 0; j < RR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, wv[j]);
    }
  };
  const int kv = kc / 32 * 32;
  for (int k = 0; k < kv; k += 32) step(k, ~__mmask32{0});
  if (kv < kc) step(kv, static_cast<__mmask32>((1ull << (kc - kv)) - 1));
#pragma GCC unroll 8
  for (int i = 0; i < TT; ++i) {
    float* out = y + static_cast<std::size_t>(t + i) * ldy + r;
    if constexpr (RR == 4) {
      __m128 s = hsum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
      if (!first) s = _mm_add_ps(s, _mm_loadu_ps(out));
      _mm_storeu_ps(out, s);
    } else {
#pragma GCC unroll 4
      for (int j = 0; j < RR; ++j) out[j] = (first ? 0.0f : out[j]) + _mm512_reduce_add_ps(acc[i][j]);
    }
  }
}

template <int RR>
void dot_tokens(const std::uint16_t* w, std::size_t K, int r, const std::uint16_t* xb, std::size_t ldxb,
                int tokens, int k0, int kc, float* y, int ldy, bool first) {
  int t = 0;
  for (; t + kDotTileTokens <= tokens; t += kDotTileTokens) {
    dot_tile<kDotTileTokens, RR>(w, K, r, xb, ldxb, t, k0, kc, y, ldy, first);
  }
  switch (tokens - t) {  // the remaining 0..5 tokens in one narrower tile
    case 5:
      return dot_tile<5, RR>(w, K, r, xb, ldxb, t, k0, kc, y, ldy, first);
    case 4:
      return dot_tile<4, RR>(w, K, r, xb, ldxb, t, k0, kc, y, ldy, first);
    case 3:
      return dot_tile<3, RR>(w, K, r, xb, ldxb, t, k0, kc, y, ldy, first);
    case 2:
      return dot_tile<2, RR>(w, K, r, xb, ldxb, t, k0, kc, y, ldy, first);
    case 1:
      return dot_tile<1, RR>(w, K, r, xb, ldxb, t, k0, kc, y, ldy, first);
    default:
      return;
  }
}

void matmul_bf16_dot(const MatrixRef& w, int r0, int r1, const float* x, int ldx, int tokens, float* y,
                     int ldy) {
  ALLTOOLS_CHECK(w.format == WeightFormat::kBF16);
  const int K = w.cols;
  const std::size_t ldxb =
      static_cast<std::size_t>(K + 31) / 32 * 32;  // zero-padded to whole 32-element steps
  thread_local std::vector<std::uint16_t> xb;      // per worker thread: reused across calls
  xb.assign(ldxb * tokens, 0);
  for (int t = 0; t < tokens; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * ldx;
    std::uint16_t* out = xb.data() + t * ldxb;
    int k = 0;
    for (; k + 32 <= K; k += 32) {
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(xt + k + 16), _mm512_loadu_ps(xt + k));
      _mm512_storeu_si512(out + k, (__m512i)v);
    }
    for (; k < K; ++k) out[k] = f32_to_bf16(xt[k]);
  }
  const auto* wd = static_cast<const std::uint16_t*>(w.data);
  for (int k0 = 0; k0 < K; k0 += kDotBlockK) {
    const int kc = std::min(kDotBlockK, K - k0);
    int r = r0;
    for (; r + kDotTileRows <= r1; r += kDotTileRows) {
      dot_tokens<kDotTileRows>(wd, K, r, xb.data(), ldxb, tokens, k0, kc, y, ldy, k0 == 0);
    }
    for (; r < r1; ++r) dot_tokens<1>(wd, K, r, xb.data(), ldxb, tokens, k0, kc, y, ldy, k0 == 0);
  }
}

const KernelSet kAvx512 = {"avx512", matmul, dot, axpy, sum_squares, matvec_batch, nullptr};
const KernelSet kAvx512Bf16 = {"avx512", matmul, dot, axpy, sum_squares, matvec_batch, matmul_bf16_dot};

}  // namespace

const KernelSet* avx512_kernels() {
  static const bool bf16 = cpu_has_avx512_bf16();
  return bf16 ? &kAvx512Bf16 : &kAvx512;
}

}  // namespace alltools::model::cpu
#else
namespace alltools::model::cpu {
const KernelSet* avx512_kernels() { return nullptr; }
}  // namespace alltools::model::cpu
#endif
