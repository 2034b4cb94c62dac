// SIMD kernels for the CPU backend, chosen once at run time for the CPU (AVX-512, AVX2+FMA+F16C, or portable
// scalar). Each kernel set computes the same thing; the scalar set is the reference the others are tested against.
// Arithmetic is f32 with f32 accumulation whatever the weight format (bf16/f16 are widened exactly, int8 rows are
// multiplied by their f32 row scale); the one exception is int8 decode (tokens == 1, K <= 16384), which rounds x to
// int16 once and sums the products in int32 over blocks of 64 vector steps, then in f32. The optional
// matmul_bf16_dot rounds x to bf16 as well (opt-in, see its comment).
#pragma once

#include <cstdint>
#include <vector>

namespace alltools::model::cpu {

enum class WeightFormat : std::uint8_t { kF32, kBF16, kF16, kI8 };

// A row-major weight matrix [rows, cols]: output feature r is row r. Not owning.
struct MatrixRef {
  WeightFormat format = WeightFormat::kF32;
  int rows = 0;
  int cols = 0;
  const void* data = nullptr;          // rows * cols elements of `format`
  const float* row_scales = nullptr;   // kI8 only: [rows], w[r][k] = q[r][k] * row_scales[r]
};

struct KernelSet {
  const char* name;
  // y[t * ldy + r] = sum_k x[t * ldx + k] * W[r][k] for t in [0, tokens), r in [r0, r1); K = w.cols.
  // tokens == 1 streams the rows (decode); tokens > 1 runs register-blocked tiles over K blocks (prefill).
  void (*matmul)(const MatrixRef& w, int r0, int r1, const float* x, int ldx, int tokens, float* y, int ldy);
  float (*dot)(const float* a, const float* b, int n);          // sum a[i] * b[i]
  void (*axpy)(float alpha, const float* x, float* y, int n);   // y[i] += alpha * x[i]
  float (*sum_squares)(const float* x, int n);                  // sum x[i]^2
  // As matmul, for tokens of different sequences decoded together (continuous batching): row t of y is bitwise
  // what matmul gives for token t alone (tokens == 1), whatever the other tokens; the weights are read once.
  void (*matvec_batch)(const MatrixRef& w, int r0, int r1, const float* x, int ldx, int tokens, float* y, int ldy);
  // Like matmul for kBF16 weights, but x is rounded to bf16 first (relative error <= 2^-9 per element, what
  // llama.cpp and bf16 inference in HF do) and the bf16 products are summed in f32 by AVX512-BF16 dot-product
  // instructions: about twice matmul's speed for tokens > 1. nullptr where the CPU or the set lacks them.
  void (*matmul_bf16_dot)(const MatrixRef& w, int r0, int r1, const float* x, int ldx, int tokens, float* y,
                          int ldy);
};

// The fastest set this CPU supports, or the one named by the environment variable ALLTOOLS_KERNELS
// (scalar | avx2 | avx512) if this CPU runs it; decided once, on first call.
const KernelSet& best_kernels();
// Every set this CPU can run, scalar first (tests compare them).
std::vector<const KernelSet*> available_kernels();

// Per-ISA entry points (defined in kernels_<isa>.cc; absent ones return nullptr).
const KernelSet* scalar_kernels();
const KernelSet* avx2_kernels();
const KernelSet* avx512_kernels();

// bf16 / f16 <-> f32 helpers (round to nearest even for f32 -> bf16). `static` so that the copies compiled with
// AVX flags in the SIMD files are never merged with the portable ones by the linker.
static inline float bf16_to_f32(std::uint16_t v) {
  const std::uint32_t bits = static_cast<std::uint32_t>(v) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}
static inline std::uint16_t f32_to_bf16(float f) {
  std::uint32_t bits;
  __builtin_memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}
float f16_to_f32(std::uint16_t v);

}  // namespace alltools::model::cpu
