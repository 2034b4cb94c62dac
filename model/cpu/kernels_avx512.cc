// AVX-512 (F, BW, VL, DQ) kernel set (compiled with those flags only in this file; selected at run time).
#include "model/cpu/kernels.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>

#include <cstddef>

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

const KernelSet kAvx512 = {"avx512", matmul, dot, axpy, sum_squares, matvec_batch};

}  // namespace

const KernelSet* avx512_kernels() { return &kAvx512; }

}  // namespace alltools::model::cpu
#else
namespace alltools::model::cpu {
const KernelSet* avx512_kernels() { return nullptr; }
}  // namespace alltools::model::cpu
#endif
