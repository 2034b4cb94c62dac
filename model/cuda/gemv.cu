// Decode GEMV: y = W x for one token, streaming every weight byte once with 16-byte loads. Each warp owns a
// task of two rows (or, for SwiGLU, rows i and i + F), keeps several loads per lane in flight, and reduces with
// shuffles; x (optionally RMS-normalised in the prologue) sits in shared memory as f32. bf16 is widened by
// shifts and int8 by a byte-permute into the mantissa of 2^23 (no slow integer->float conversions), so the
// kernel stays bound by memory bandwidth. Launched in the decode chain with PDL (launch.cuh): each warp's first
// weight loads are issued before waiting for the previous kernel, so they overlap its tail and the launch gap.
#include <cuda_bf16.h>

#include <cstdint>
#include <cstdlib>

#include "model/cuda/kernels.h"
#include "model/cuda/launch.cuh"

namespace alltools::model::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kUnroll = 4;  // 16-byte chunks per row per lane in flight
// Blocks per SM at most: enough loads in flight, and room for the next kernel's early (PDL) blocks.
// ALLTOOLS_GEMV_BLOCKS_PER_SM overrides it (tuning on a new GPU).
int max_blocks_per_sm() {
  static const int n = [] {
    const char* env = std::getenv("ALLTOOLS_GEMV_BLOCKS_PER_SM");
    const int v = env != nullptr ? std::atoi(env) : 0;
    return v > 0 && v <= 32 ? v : 8;
  }();
  return n;
}

template <typename W>
struct Traits;
template <>
struct Traits<float> {
  static constexpr int kPerChunk = 4;
  __device__ static float dot(uint4 v, const float* x) {
    const float4 a = *reinterpret_cast<const float4*>(x);
    return __uint_as_float(v.x) * a.x + __uint_as_float(v.y) * a.y + __uint_as_float(v.z) * a.z +
           __uint_as_float(v.w) * a.w;
  }
  __device__ static float scalar(const void* w, std::size_t i) { return static_cast<const float*>(w)[i]; }
};
template <>
struct Traits<__nv_bfloat16> {
  static constexpr int kPerChunk = 8;
  __device__ static float pair(std::uint32_t u, float x0, float x1) {
    return __uint_as_float(u << 16) * x0 + __uint_as_float(u & 0xffff0000u) * x1;
  }
  __device__ static float dot(uint4 v, const float* x) {
    const float4 a = *reinterpret_cast<const float4*>(x);
    const float4 b = *reinterpret_cast<const float4*>(x + 4);
    return pair(v.x, a.x, a.y) + pair(v.y, a.z, a.w) + pair(v.z, b.x, b.y) + pair(v.w, b.z, b.w);
  }
  __device__ static float scalar(const void* w, std::size_t i) {
    return __uint_as_float(static_cast<std::uint32_t>(static_cast<const std::uint16_t*>(w)[i]) << 16);
  }
};
template <>
struct Traits<std::int8_t> {
  static constexpr int kPerChunk = 16;
  // Four signed bytes -> floats: flip the sign bit (b + 128 as an unsigned byte), drop it into the low mantissa
  // byte of 2^23, subtract 2^23 + 128. Exact.
  __device__ static float quad(std::uint32_t u, float4 x) {
    u ^= 0x80808080u;
    constexpr float kBias = 8388736.0f;  // 2^23 + 128
    return (__uint_as_float(__byte_perm(u, 0x4B000000u, 0x7540)) - kBias) * x.x +
           (__uint_as_float(__byte_perm(u, 0x4B000000u, 0x7541)) - kBias) * x.y +
           (__uint_as_float(__byte_perm(u, 0x4B000000u, 0x7542)) - kBias) * x.z +
           (__uint_as_float(__byte_perm(u, 0x4B000000u, 0x7543)) - kBias) * x.w;
  }
  __device__ static float dot(uint4 v, const float* x) {
    const float4* x4 = reinterpret_cast<const float4*>(x);
    return quad(v.x, x4[0]) + quad(v.y, x4[1]) + quad(v.z, x4[2]) + quad(v.w, x4[3]);
  }
  __device__ static float scalar(const void* w, std::size_t i) {
    return static_cast<float>(static_cast<const std::int8_t*>(w)[i]);
  }
};

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum of v over the block (all threads get it). `red` holds kWarps floats.
__device__ float block_sum(float v, float* red) {
  v = warp_sum(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // red may still be read from an earlier call
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int i = 0; i < kWarps; ++i) total += red[i];
  return total;
}

__device__ __forceinline__ const uint4* row_ptr(const void* w, int cols, int row, int elem_bytes) {
  return reinterpret_cast<const uint4*>(static_cast<const char*>(w) +
                                        static_cast<std::size_t>(row) * cols * elem_bytes);
}

// Weights are read once per token: evict-first streaming loads (an L2::256B prefetch variant measured slower on
// an H200: 66 vs 62 us for the 27392 x 4096 matrix).
__device__ __forceinline__ uint4 load_stream(const uint4* p) { return __ldcs(p); }

__device__ __forceinline__ void load_batch(const uint4* row0, const uint4* row1, int chunks, int base,
                                           uint4 (&a)[kUnroll], uint4 (&b)[kUnroll]) {
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) {
    const int c = base + u * 32;
    if (c < chunks) {
      a[u] = load_stream(row0 + c);
      b[u] = load_stream(row1 + c);
    }
  }
}

// Rows r0 and r1 dotted with xs. With kVec, `a`/`b` may already hold the first batch (prefetched).
template <typename W, bool kVec>
__device__ __forceinline__ void dot2(const void* w, int cols, int r0, int r1, const float* xs, float& acc0,
                                     float& acc1, bool prefetched, uint4 (&a)[kUnroll], uint4 (&b)[kUnroll]) {
  using T = Traits<W>;
  const int lane = threadIdx.x % 32;
  if constexpr (kVec) {
    const int chunks = cols / T::kPerChunk;
    const uint4* row0 = row_ptr(w, cols, r0, sizeof(W));
    const uint4* row1 = row_ptr(w, cols, r1, sizeof(W));
    for (int base = lane; base < chunks; base += 32 * kUnroll) {
      if (!prefetched || base != lane) load_batch(row0, row1, chunks, base, a, b);
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int c = base + u * 32;
        if (c < chunks) {
          const float* xc = xs + static_cast<std::size_t>(c) * T::kPerChunk;
          acc0 += T::dot(a[u], xc);
          acc1 += T::dot(b[u], xc);
        }
      }
    }
  } else {
    const std::size_t b0 = static_cast<std::size_t>(r0) * cols, b1 = static_cast<std::size_t>(r1) * cols;
    for (int k = lane; k < cols; k += 32) {
      acc0 += T::scalar(w, b0 + k) * xs[k];
      acc1 += T::scalar(w, b1 + k) * xs[k];
    }
  }
}

// Rows r0 (even) and r0 + 1 of the fused QKV output, bias added: rotate if they are a rotary pair of a query or
// key head (angle pos * inv_freq[j] in double, as the CPU), then queries to y, keys/values to the cache.
__device__ void qkv_rope_epilogue(const GemvArgs& a, int r0, float v0, float v1) {
  const RopeTarget& r = a.rope;
  const int pos = *r.pos;
  if (r0 < r.q_dim + r.kv_dim) {
    const int d = r0 % r.head_dim;
    if (d < r.rotary_dim) {
      const double angle = static_cast<double>(pos) * static_cast<double>(r.inv_freq[d / 2]);
      const float c = static_cast<float>(cos(angle)), s = static_cast<float>(sin(angle));
      const float e = v0 * c - v1 * s, o = v1 * c + v0 * s;
      v0 = e;
      v1 = o;
    }
  }
  a.y[r0] = v0;
  a.y[r0 + 1] = v1;
  if (r0 < r.q_dim) return;
  const bool key = r0 < r.q_dim + r.kv_dim;
  const std::size_t at = static_cast<std::size_t>(pos) * r.kv_dim + (key ? r0 - r.q_dim : r0 - r.q_dim - r.kv_dim);
  void* cache = key ? r.k_cache : r.v_cache;
  if (r.cache_bf16) {
    static_cast<__nv_bfloat16*>(cache)[at] = __float2bfloat16_rn(v0);
    static_cast<__nv_bfloat16*>(cache)[at + 1] = __float2bfloat16_rn(v1);
  } else {
    static_cast<float*>(cache)[at] = v0;
    static_cast<float*>(cache)[at + 1] = v1;
  }
}

template <GemvOut kOut>
__device__ __forceinline__ void task_rows(int task, int rows, int& r0, int& r1) {
  if constexpr (kOut == GemvOut::kSwiGlu) {
    r0 = task;
    r1 = task + rows / 2;
  } else {
    r0 = 2 * task;
    r1 = r0 + 1 < rows ? r0 + 1 : r0;
  }
}

template <typename W, GemvIn kIn, GemvOut kOut, bool kVec>
__global__ void __launch_bounds__(kThreads) gemv_kernel(GemvArgs a) {
  extern __shared__ float smem[];  // [cols] x, then kWarps for reductions
  pdl_trigger();
  const int cols = a.w.cols;
  const int lane = threadIdx.x % 32;
  const int warps_total = gridDim.x * kWarps;
  const int tasks = kOut == GemvOut::kSwiGlu ? a.w.rows / 2 : (a.w.rows + 1) / 2;
  int task = blockIdx.x * kWarps + threadIdx.x / 32;
  uint4 wa[kUnroll], wb[kUnroll];
  bool prefetched = false;
  if constexpr (kVec) {
    if (task < tasks) {
      int r0, r1;
      task_rows<kOut>(task, a.w.rows, r0, r1);
      load_batch(row_ptr(a.w.data, cols, r0, sizeof(W)), row_ptr(a.w.data, cols, r1, sizeof(W)),
                 cols / Traits<W>::kPerChunk, lane, wa, wb);
      prefetched = true;
    }
  }
  pdl_wait();  // x, norm inputs and y (accumulate) may come from the previous kernel

  float* xs = smem;
  float* red = smem + cols;
  if constexpr (kIn == GemvIn::kRmsNorm) {
    float ss = 0.0f;
    for (int i = threadIdx.x; i < cols; i += kThreads) {
      const float v = a.x[i];
      xs[i] = v;
      ss += v * v;
    }
    const float total = block_sum(ss, red);
    const float inv = static_cast<float>(1.0 / sqrt(static_cast<double>(total) / cols + static_cast<double>(a.eps)));
    for (int i = threadIdx.x; i < cols; i += kThreads) xs[i] = xs[i] * inv * a.norm[i];
  } else {
    for (int i = threadIdx.x; i < cols; i += kThreads) xs[i] = a.x[i];
  }
  __syncthreads();

  for (; task < tasks; task += warps_total) {
    int r0, r1;
    task_rows<kOut>(task, a.w.rows, r0, r1);
    float acc0 = 0.0f, acc1 = 0.0f;
    dot2<W, kVec>(a.w.data, cols, r0, r1, xs, acc0, acc1, prefetched, wa, wb);
    prefetched = false;
    acc0 = warp_sum(acc0);
    acc1 = warp_sum(acc1);
    if (lane != 0) continue;
    if constexpr (sizeof(W) == 1) {
      acc0 *= a.w.scales[r0];
      acc1 *= a.w.scales[r1];
    }
    if constexpr (kOut == GemvOut::kSwiGlu) {
      a.y[r0] = acc0 / (1.0f + expf(-acc0)) * acc1;
    } else {
      const bool two = r1 != r0;
      if constexpr (kOut == GemvOut::kStore) {
        a.y[r0] = acc0;
        if (two) a.y[r1] = acc1;
      } else if constexpr (kOut == GemvOut::kBias) {
        a.y[r0] = acc0 + a.bias[r0];
        if (two) a.y[r1] = acc1 + a.bias[r1];
      } else if constexpr (kOut == GemvOut::kQkvRope) {
        qkv_rope_epilogue(a, r0, acc0 + a.bias[r0], acc1 + a.bias[r1]);
      } else {
        a.y[r0] += acc0;
        if (two) a.y[r1] += acc1;
      }
    }
  }
}

template <typename W, GemvIn kIn, GemvOut kOut, bool kVec>
cudaError_t launch_typed(const GemvArgs& a, cudaStream_t stream) {
  auto kernel = gemv_kernel<W, kIn, kOut, kVec>;
  const std::size_t smem = (static_cast<std::size_t>(a.w.cols) + kWarps) * sizeof(float);
  static int configured_smem = 0;  // per instantiation: raise the dynamic shared-memory limit once per size
  if (smem > 48 * 1024 && static_cast<int>(smem) > configured_smem) {
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return e;
    configured_smem = static_cast<int>(smem);
  }
  static int sms = 0;
  if (sms == 0) {
    int dev = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    if (sms <= 0) sms = 1;
  }
  int per_sm = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, smem) != cudaSuccess || per_sm < 1) {
    per_sm = 1;
  }
  const int tasks = kOut == GemvOut::kSwiGlu ? a.w.rows / 2 : (a.w.rows + 1) / 2;
  const int needed = (tasks + kWarps - 1) / kWarps;
  const int cap = sms * (per_sm < max_blocks_per_sm() ? per_sm : max_blocks_per_sm());
  const int blocks = needed < cap ? needed : cap;
  return launch_chained(kernel, dim3(blocks), dim3(kThreads), smem, stream, a);
}

template <typename W, GemvIn kIn, GemvOut kOut>
cudaError_t launch_vec(const GemvArgs& a, cudaStream_t stream) {
  const bool vec = a.w.cols % Traits<W>::kPerChunk == 0 && reinterpret_cast<std::uintptr_t>(a.w.data) % 16 == 0;
  return vec ? launch_typed<W, kIn, kOut, true>(a, stream) : launch_typed<W, kIn, kOut, false>(a, stream);
}

template <typename W, GemvIn kIn>
cudaError_t launch_out(GemvOut out, const GemvArgs& a, cudaStream_t stream) {
  switch (out) {
    case GemvOut::kStore: return launch_vec<W, kIn, GemvOut::kStore>(a, stream);
    case GemvOut::kBias: return launch_vec<W, kIn, GemvOut::kBias>(a, stream);
    case GemvOut::kAccumulate: return launch_vec<W, kIn, GemvOut::kAccumulate>(a, stream);
    case GemvOut::kSwiGlu: return launch_vec<W, kIn, GemvOut::kSwiGlu>(a, stream);
    case GemvOut::kQkvRope: return launch_vec<W, kIn, GemvOut::kQkvRope>(a, stream);
  }
  return cudaErrorInvalidValue;
}

template <typename W>
cudaError_t launch_in(GemvIn in, GemvOut out, const GemvArgs& a, cudaStream_t stream) {
  return in == GemvIn::kRmsNorm ? launch_out<W, GemvIn::kRmsNorm>(out, a, stream)
                                : launch_out<W, GemvIn::kPlain>(out, a, stream);
}

}  // namespace

cudaError_t launch_gemv(GemvIn in, GemvOut out, const GemvArgs& args, cudaStream_t stream) {
  if (args.w.rows <= 0 || args.w.cols <= 0 || ((out == GemvOut::kSwiGlu || out == GemvOut::kQkvRope) && args.w.rows % 2 != 0) ||
      (out == GemvOut::kQkvRope && (args.rope.pos == nullptr || args.rope.head_dim % 2 != 0))) {
    return cudaErrorInvalidValue;
  }
  switch (args.w.format) {
    case DevFormat::kF32: return launch_in<float>(in, out, args, stream);
    case DevFormat::kBF16: return launch_in<__nv_bfloat16>(in, out, args, stream);
    case DevFormat::kI8: return launch_in<std::int8_t>(in, out, args, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace alltools::model::cuda
