// Portable reference kernels: plain loops, the yardstick for the SIMD sets.
#include <cmath>
#include <cstring>

#include "model/cpu/kernels.h"

namespace alltools::model::cpu {

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = (h >> 15) & 1u;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  float value;
  if (exp == 0) {
    value = std::ldexp(static_cast<float>(mant), -24);
  } else if (exp == 31) {
    value = mant == 0 ? INFINITY : NAN;
  } else {
    value = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  }
  return sign ? -value : value;
}

namespace {

float weight_at(const MatrixRef& w, int r, int k) {
  const std::size_t i = static_cast<std::size_t>(r) * w.cols + k;
  switch (w.format) {
    case WeightFormat::kF32: return static_cast<const float*>(w.data)[i];
    case WeightFormat::kBF16: return bf16_to_f32(static_cast<const std::uint16_t*>(w.data)[i]);
    case WeightFormat::kF16: return f16_to_f32(static_cast<const std::uint16_t*>(w.data)[i]);
    case WeightFormat::kI8: return static_cast<float>(static_cast<const std::int8_t*>(w.data)[i]);
  }
  return 0.0f;
}

void matmul(const MatrixRef& w, int r0, int r1, const float* x, int ldx, int tokens, float* y, int ldy) {
  for (int t = 0; t < tokens; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * ldx;
    for (int r = r0; r < r1; ++r) {
      float acc = 0.0f;
      for (int k = 0; k < w.cols; ++k) acc += xt[k] * weight_at(w, r, k);
      if (w.format == WeightFormat::kI8) acc *= w.row_scales[r];
      y[static_cast<std::size_t>(t) * ldy + r] = acc;
    }
  }
}

float dot(const float* a, const float* b, int n) {
  float acc = 0.0f;
  for (int i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy(float alpha, const float* x, float* y, int n) {
  for (int i = 0; i < n; ++i) y[i] += alpha * x[i];
}

float sum_squares(const float* x, int n) {
  float acc = 0.0f;
  for (int i = 0; i < n; ++i) acc += x[i] * x[i];
  return acc;
}

// Every (token, row) output is summed on its own, so matmul already is the per-token-exact batched decode.
const KernelSet kScalar = {"scalar", matmul, dot, axpy, sum_squares, matmul, nullptr};

}  // namespace

const KernelSet* scalar_kernels() { return &kScalar; }

}  // namespace alltools::model::cpu
