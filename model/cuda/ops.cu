// Per-row and elementwise kernels of the CUDA backend: embedding gather, RMSNorm (plain and fused with the
// residual add), SwiGLU, bias + interleaved partial RoPE + KV-cache write, and the weight conversions done once
// at load time. Arithmetic follows the CPU backend (model/cpu/transformer.cc) operation for operation.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "model/cuda/kernels.h"
#include "model/cuda/launch.cuh"

namespace alltools::model::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float bf16_bits_to_f32(std::uint16_t v) {
  return __uint_as_float(static_cast<std::uint32_t>(v) << 16);
}

__device__ __forceinline__ float load_host_format(const void* p, HostFormat f, std::uint64_t i) {
  switch (f) {
    case HostFormat::kF32: return static_cast<const float*>(p)[i];
    case HostFormat::kBF16: return bf16_bits_to_f32(static_cast<const std::uint16_t*>(p)[i]);
    case HostFormat::kF16: return __half2float(static_cast<const __half*>(p)[i]);
  }
  return 0.0f;
}

__device__ float block_sum(float v) {
  __shared__ float red[32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (int i = 0; i < warps; ++i) total += red[i];
  return total;
}

__device__ float block_max(float v) {
  __shared__ float red[32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float m = red[0];
  for (int i = 1; i < warps; ++i) m = fmaxf(m, red[i]);
  return m;
}

__device__ __forceinline__ float rms_inverse(float sum_squares, int n, float eps) {
  return static_cast<float>(1.0 / sqrt(static_cast<double>(sum_squares) / n + static_cast<double>(eps)));
}

__global__ void embed_kernel(DevMatrix emb, const std::int32_t* tokens, float* x) {
  pdl_trigger();
  pdl_wait();
  const int t = blockIdx.x;
  const std::size_t row = static_cast<std::size_t>(tokens[t]) * emb.cols;
  float* out = x + static_cast<std::size_t>(t) * emb.cols;
  for (int i = threadIdx.x; i < emb.cols; i += blockDim.x) {
    float v;
    if (emb.format == DevFormat::kF32) {
      v = static_cast<const float*>(emb.data)[row + i];
    } else if (emb.format == DevFormat::kBF16) {
      v = bf16_bits_to_f32(static_cast<const std::uint16_t*>(emb.data)[row + i]);
    } else {
      v = static_cast<float>(static_cast<const std::int8_t*>(emb.data)[row + i]) * emb.scales[tokens[t]];
    }
    out[i] = v;
  }
}

__global__ void rms_norm_kernel(const float* x, const float* g, int n, float eps, void* out, bool out_bf16) {
  const std::size_t base = static_cast<std::size_t>(blockIdx.x) * n;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) ss += x[base + i] * x[base + i];
  const float inv = rms_inverse(block_sum(ss), n, eps);
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = x[base + i] * inv * g[i];
    if (out_bf16) {
      static_cast<__nv_bfloat16*>(out)[base + i] = __float2bfloat16_rn(v);
    } else {
      static_cast<float*>(out)[base + i] = v;
    }
  }
}

__global__ void norm_add_kernel(float* x, const float* o, const float* g, int n, float eps) {
  pdl_trigger();
  pdl_wait();
  const std::size_t base = static_cast<std::size_t>(blockIdx.x) * n;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) ss += o[base + i] * o[base + i];
  const float inv = rms_inverse(block_sum(ss), n, eps);
  for (int i = threadIdx.x; i < n; i += blockDim.x) x[base + i] += o[base + i] * inv * g[i];
}

__global__ void swiglu_kernel(const void* gu, bool gu_bf16, int ffn, std::uint64_t total, void* out, bool out_bf16) {
  for (std::uint64_t idx = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<std::uint64_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t t = idx / ffn, i = idx % ffn;
    const std::uint64_t gi = t * 2 * ffn + i, ui = gi + ffn;
    const float g = gu_bf16 ? bf16_bits_to_f32(static_cast<const std::uint16_t*>(gu)[gi]) : static_cast<const float*>(gu)[gi];
    const float u = gu_bf16 ? bf16_bits_to_f32(static_cast<const std::uint16_t*>(gu)[ui]) : static_cast<const float*>(gu)[ui];
    const float v = g / (1.0f + expf(-g)) * u;
    if (out_bf16) {
      static_cast<__nv_bfloat16*>(out)[idx] = __float2bfloat16_rn(v);
    } else {
      static_cast<float*>(out)[idx] = v;
    }
  }
}

// One block per token. Phase 1 stages the row with its bias in shared memory; phase 2 rotates query and key
// heads (pairs (2j, 2j+1) of the first rotary_dim dims, angle position * inv_freq[j] in double precision as on
// the CPU) and writes queries back, keys and values to the cache.
__global__ void rope_cache_kernel(RopeCacheArgs a) {
  extern __shared__ float row_s[];  // [width] the row with its bias, then cos and sin per rotary pair
  pdl_trigger();
  pdl_wait();
  const int t = blockIdx.x;
  const int q_dim = a.num_heads * a.head_dim, kv_dim = a.num_kv_heads * a.head_dim;
  const int width = q_dim + 2 * kv_dim;
  const int pairs = a.rotary_dim / 2;
  float* cos_s = row_s + width;
  float* sin_s = cos_s + pairs;
  const int pos = (a.start_ptr != nullptr ? *a.start_ptr : a.start) + t;
  float* row = a.qkv + static_cast<std::size_t>(t) * width;
  for (int i = threadIdx.x; i < width; i += blockDim.x) row_s[i] = row[i] + (a.bias != nullptr ? a.bias[i] : 0.0f);
  for (int j = threadIdx.x; j < pairs; j += blockDim.x) {
    const double angle = static_cast<double>(pos) * static_cast<double>(a.inv_freq[j]);
    cos_s[j] = static_cast<float>(cos(angle));
    sin_s[j] = static_cast<float>(sin(angle));
  }
  __syncthreads();
  const std::size_t cache_row = static_cast<std::size_t>(pos) * kv_dim;
  for (int i = threadIdx.x; i < width; i += blockDim.x) {
    float v = row_s[i];
    if (i < q_dim + kv_dim) {
      const int d = i % a.head_dim;
      if (d < a.rotary_dim) {
        const int j = d / 2;
        const float c = cos_s[j], s = sin_s[j];
        const float even = row_s[i & ~1], odd = row_s[i | 1];
        v = (d % 2 == 0) ? even * c - odd * s : odd * c + even * s;
      }
    }
    if (i < q_dim) {
      row[i] = v;
    } else {
      const bool is_key = i < q_dim + kv_dim;
      const int k = is_key ? i - q_dim : i - q_dim - kv_dim;
      void* cache = is_key ? a.k_cache : a.v_cache;
      if (a.cache_bf16) {
        static_cast<__nv_bfloat16*>(cache)[cache_row + k] = __float2bfloat16_rn(v);
      } else {
        static_cast<float*>(cache)[cache_row + k] = v;
      }
      row[i] = v;
    }
  }
}

__global__ void convert_kernel(const void* src, HostFormat from, void* dst, DevFormat to, std::uint64_t n) {
  for (std::uint64_t i = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::uint64_t>(gridDim.x) * blockDim.x) {
    const float v = load_host_format(src, from, i);
    if (to == DevFormat::kF32) {
      static_cast<float*>(dst)[i] = v;
    } else {
      static_cast<__nv_bfloat16*>(dst)[i] = __float2bfloat16_rn(v);
    }
  }
}

// One block per row.
__global__ void quantize_rows_kernel(const void* src, HostFormat from, int cols, std::int8_t* q, float* scales) {
  const std::uint64_t base = static_cast<std::uint64_t>(blockIdx.x) * cols;
  float amax = 0.0f;
  for (int k = threadIdx.x; k < cols; k += blockDim.x) amax = fmaxf(amax, fabsf(load_host_format(src, from, base + k)));
  amax = block_max(amax);
  const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
  const float inv = 1.0f / scale;
  if (threadIdx.x == 0) scales[blockIdx.x] = scale;
  for (int k = threadIdx.x; k < cols; k += blockDim.x) {
    const float r = rintf(load_host_format(src, from, base + k) * inv);  // round half to even
    q[base + k] = static_cast<std::int8_t>(fminf(fmaxf(r, -127.0f), 127.0f));
  }
}

__global__ void dequantize_rows_kernel(const std::int8_t* q, const float* scales, int cols, std::uint64_t n,
                                       __nv_bfloat16* dst) {
  for (std::uint64_t i = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::uint64_t>(gridDim.x) * blockDim.x) {
    dst[i] = __float2bfloat16_rn(static_cast<float>(q[i]) * scales[i / cols]);
  }
}

int grid_for(std::uint64_t n) {
  const std::uint64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65536 ? (blocks == 0 ? 1 : blocks) : 65536);
}

int row_threads(int n) { return n >= 1024 ? 1024 : (n >= 512 ? 512 : 256); }

thread_local bool g_pdl = false;

}  // namespace

bool pdl_supported() {
  static const bool supported = [] {
    const char* env = std::getenv("ALLTOOLS_CUDA_PDL");
    if (env == nullptr || std::strcmp(env, "1") != 0) return false;
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) return false;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) return false;
    return major >= 9;
  }();
  return supported;
}
bool pdl_active() { return g_pdl; }
PdlScope::PdlScope(bool on) : previous_(g_pdl) { g_pdl = on && pdl_supported(); }
PdlScope::~PdlScope() { g_pdl = previous_; }

const char* dev_format_name(DevFormat f) {
  switch (f) {
    case DevFormat::kF32: return "f32";
    case DevFormat::kBF16: return "bf16";
    case DevFormat::kI8: return "int8";
  }
  return "?";
}

int dev_format_bytes(DevFormat f) { return f == DevFormat::kF32 ? 4 : (f == DevFormat::kBF16 ? 2 : 1); }

cudaError_t launch_embed(const DevMatrix& emb, const std::int32_t* tokens, int count, float* x, cudaStream_t stream) {
  return launch_chained(embed_kernel, dim3(count), dim3(kThreads), 0, stream, emb, tokens, x);
}

cudaError_t launch_rms_norm(const float* x, const float* g, int n, float eps, int rows, void* out, bool out_bf16,
                            cudaStream_t stream) {
  rms_norm_kernel<<<rows, row_threads(n), 0, stream>>>(x, g, n, eps, out, out_bf16);
  return cudaGetLastError();
}

cudaError_t launch_norm_add(float* x, const float* o, const float* g, int n, float eps, int rows, cudaStream_t stream) {
  return launch_chained(norm_add_kernel, dim3(rows), dim3(row_threads(n)), 0, stream, x, o, g, n, eps);
}

cudaError_t launch_swiglu(const void* gu, bool gu_bf16, int ffn, int rows, void* out, bool out_bf16,
                          cudaStream_t stream) {
  const std::uint64_t total = static_cast<std::uint64_t>(ffn) * rows;
  swiglu_kernel<<<grid_for(total), kThreads, 0, stream>>>(gu, gu_bf16, ffn, total, out, out_bf16);
  return cudaGetLastError();
}

cudaError_t launch_rope_cache(const RopeCacheArgs& a, cudaStream_t stream) {
  const int width = (a.num_heads + 2 * a.num_kv_heads) * a.head_dim;
  const std::size_t smem = (static_cast<std::size_t>(width) + a.rotary_dim) * sizeof(float);
  if (smem > 48 * 1024) {
    const cudaError_t e =
        cudaFuncSetAttribute(rope_cache_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return e;
  }
  return launch_chained(rope_cache_kernel, dim3(a.tokens), dim3(row_threads(width)), smem, stream, a);
}

cudaError_t launch_convert(const void* src, HostFormat from, void* dst, DevFormat to, std::uint64_t n,
                           cudaStream_t stream) {
  if (to == DevFormat::kI8) return cudaErrorInvalidValue;
  convert_kernel<<<grid_for(n), kThreads, 0, stream>>>(src, from, dst, to, n);
  return cudaGetLastError();
}

cudaError_t launch_quantize_rows(const void* src, HostFormat from, int rows, int cols, std::int8_t* q, float* scales,
                                 cudaStream_t stream) {
  quantize_rows_kernel<<<rows, kThreads, 0, stream>>>(src, from, cols, q, scales);
  return cudaGetLastError();
}

cudaError_t launch_dequantize_rows(const std::int8_t* q, const float* scales, int rows, int cols, void* dst_bf16,
                                   cudaStream_t stream) {
  const std::uint64_t n = static_cast<std::uint64_t>(rows) * cols;
  dequantize_rows_kernel<<<grid_for(n), kThreads, 0, stream>>>(q, scales, cols, n,
                                                               static_cast<__nv_bfloat16*>(dst_bf16));
  return cudaGetLastError();
}

}  // namespace alltools::model::cuda
