// AVX2 + FMA + F16C kernel set (compiled with those flags only in this file; selected at run time).
#include "model/cpu/kernels.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cstddef>

namespace alltools::model::cpu {
namespace {

struct Isa {
  using V = __m256;
  static constexpr int kLanes = 8;
  static constexpr int kTileTokens = 4;  // 4 x 3 accumulators + 3 weight vectors + 1 input: 16 ymm registers
  static constexpr int kTileRows = 3;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float a) { return _mm256_set1_ps(a); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  using VI = __m256i;
  static constexpr int kI16Step = 16;
  static VI izero() { return _mm256_setzero_si256(); }
  static VI madd_i8_i16(const std::int8_t* w, const std::int16_t* x, VI acc) {
    const __m256i w16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(w16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x))));
  }
  // The two halves of madd_i8_i16, for tiles that reuse a widened weight vector across tokens.
  static VI widen_i8(const std::int8_t* w) { return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w))); }
  static VI load_i16(const std::int16_t* x) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)); }
  static VI madd_i16(VI w16, VI x, VI acc) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w16, x)); }
  static V to_float(VI v) { return _mm256_cvtepi32_ps(v); }
  static V max_abs(V m, V x) { return _mm256_max_ps(m, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)); }
  static float hmax(V v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
  }
  static void quantize_i16(const float* x, float scale, std::int16_t* out) {
    const __m256 s = _mm256_set1_ps(scale);
    const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), s));
    const __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), s));
    // packs works within 128-bit lanes: [a0..3 b0..3 a4..7 b4..7] -> reorder the 64-bit quarters.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), packed);
  }
  template <WeightFormat F>
  static V load_w(const void* base, std::size_t i) {
    if constexpr (F == WeightFormat::kF32) {
      return _mm256_loadu_ps(static_cast<const float*>(base) + i);
    } else if constexpr (F == WeightFormat::kBF16) {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(base) + i));
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    } else if constexpr (F == WeightFormat::kF16) {
      return _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(base) + i)));
    } else {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const std::int8_t*>(base) + i));
      return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
    }
  }
};

#include "model/cpu/kernels_simd.inc"
#include "model/cpu/kernels_batch.inc"

const KernelSet kAvx2 = {"avx2", matmul, dot, axpy, sum_squares, matvec_batch, nullptr};

}  // namespace

const KernelSet* avx2_kernels() { return &kAvx2; }

}  // namespace alltools::model::cpu
#else
namespace alltools::model::cpu {
const KernelSet* avx2_kernels() { return nullptr; }
}  // namespace alltools::model::cpu
#endif
