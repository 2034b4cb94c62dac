// f32 attention with split keys (decode, and prefill of f32 models). Block (t, kv head, split) loads its slice of
// the keys and values once, tile by tile, for every query head of the group, keeps an online softmax per head
// (running max m, sum l, unnormalised output o) and writes (m, l, o) for its slice; attention_merge_kernel
// combines the slices. The number of splits is fixed at launch; each block derives its key range from the
// current position, which may be read from device memory (decode graph). Slices hold at least min_chunk keys,
// so short contexts use few splits and the merge reads only the slices in use.
//
// Two partial kernels compute the same thing: attention_fast_kernel<D> (head_dim 32/64/128, group <= 32:
// 256 threads, lane = key for the scores and the softmax, float4 shared-memory traffic, the output tile in
// registers) and attention_partial_kernel, the general one (any head_dim <= 256).
#include <cuda_bf16.h>

#include <cstdint>

#include "model/cuda/kernels.h"
#include "model/cuda/launch.cuh"

namespace alltools::model::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kTile = 32;  // keys per tile
constexpr int kMaxSplits = 128;

// Keys per split for a context of `len` keys: the same formula in every kernel, so the merge knows the layout.
__device__ __forceinline__ int split_chunk(int len, int splits, int min_chunk) {
  int chunk = (len + splits - 1) / splits;
  chunk = (chunk + kTile - 1) / kTile * kTile;
  return chunk < min_chunk ? min_chunk : chunk;
}

// One online-softmax step over a tile of kTile scores per head (p_s[h][lane]; -inf = masked): warps take heads
// w, w + warps, ...; scores become probabilities under the new running max, and alpha_s[h] is the factor the
// head's earlier output must be scaled by.
__device__ __forceinline__ void online_softmax_tile(float* p_s, float* m_s, float* l_s, float* alpha_s, int group,
                                                    int warps) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int h = warp; h < group; h += warps) {
    const float s = p_s[h * kTile + lane];
    float tmax = s;
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, off));
    const float m_old = m_s[h];
    const float m_new = fmaxf(m_old, tmax);
    const float p = s == -INFINITY ? 0.0f : expf(s - m_new);
    float psum = p;
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) psum += __shfl_xor_sync(0xffffffffu, psum, off);
    p_s[h * kTile + lane] = p;
    if (lane == 0) {
      const float alpha = m_old == -INFINITY ? 0.0f : expf(m_old - m_new);
      alpha_s[h] = alpha;
      l_s[h] = l_s[h] * alpha + psum;
      m_s[h] = m_new;
    }
  }
}

template <bool kBf16>
__device__ __forceinline__ float load_kv(const void* p, std::size_t i) {
  if constexpr (kBf16) {
    return __uint_as_float(static_cast<std::uint32_t>(static_cast<const std::uint16_t*>(p)[i]) << 16);
  } else {
    return static_cast<const float*>(p)[i];
  }
}

template <bool kBf16>
__global__ void __launch_bounds__(kThreads) attention_partial_kernel(AttentionArgs a) {
  extern __shared__ float smem[];
  pdl_trigger();
  pdl_wait();
  const int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int hd = a.head_dim, group = a.num_heads / a.num_kv_heads;
  const int kv_dim = a.num_kv_heads * hd;
  const int start = a.start_ptr != nullptr ? *a.start_ptr : a.start;
  const int len = start + t + 1;  // keys [0, len)
  const int chunk = split_chunk(len, a.splits, a.min_chunk);
  const int k0 = split * chunk, k1 = min(len, k0 + chunk);

  float* q_s = smem;                          // [group][hd], pre-scaled
  float* kv_s = q_s + group * hd;             // [kTile][hd + 1]
  float* p_s = kv_s + kTile * (hd + 1);       // [group][kTile]
  float* o_s = p_s + group * kTile;           // [group][hd]
  float* m_s = o_s + group * hd;              // [group]
  float* l_s = m_s + group;                   // [group]
  float* alpha_s = l_s + group;               // [group]

  const float scale = 1.0f / sqrtf(static_cast<float>(hd));
  for (int i = threadIdx.x; i < group * hd; i += kThreads) {
    const int h = kvh * group + i / hd;
    q_s[i] = a.qkv[static_cast<std::size_t>(t) * a.width + static_cast<std::size_t>(h) * hd + i % hd];
    o_s[i] = 0.0f;
  }
  for (int h = threadIdx.x; h < group; h += kThreads) {
    m_s[h] = -INFINITY;
    l_s[h] = 0.0f;
  }
  __syncthreads();

  for (int base = k0; base < k1; base += kTile) {
    const int n = min(kTile, k1 - base);
    for (int i = threadIdx.x; i < n * hd; i += kThreads) {
      const int k = i / hd, d = i % hd;
      kv_s[k * (hd + 1) + d] = load_kv<kBf16>(a.k_cache, static_cast<std::size_t>(base + k) * kv_dim + kvh * hd + d);
    }
    __syncthreads();
    for (int i = threadIdx.x; i < group * kTile; i += kThreads) {
      const int h = i / kTile, k = i % kTile;
      float s = -INFINITY;
      if (k < n) {
        float acc = 0.0f;
        const float* qh = q_s + h * hd;
        const float* kk = kv_s + k * (hd + 1);
        for (int d = 0; d < hd; ++d) acc += qh[d] * kk[d];
        s = acc * scale;
      }
      p_s[i] = s;
    }
    __syncthreads();
    online_softmax_tile(p_s, m_s, l_s, alpha_s, group, kThreads / 32);
    for (int i = threadIdx.x; i < n * hd; i += kThreads) {  // values replace keys (scores are done)
      const int k = i / hd, d = i % hd;
      kv_s[k * (hd + 1) + d] = load_kv<kBf16>(a.v_cache, static_cast<std::size_t>(base + k) * kv_dim + kvh * hd + d);
    }
    __syncthreads();
    for (int i = threadIdx.x; i < group * hd; i += kThreads) {
      const int h = i / hd, d = i % hd;
      float acc = o_s[i] * alpha_s[h];
      const float* ph = p_s + h * kTile;
      for (int k = 0; k < n; ++k) acc += ph[k] * kv_s[k * (hd + 1) + d];
      o_s[i] = acc;
    }
    __syncthreads();
  }
  // Partial results: scratch = [(t * heads + h) * splits + split] x (hd + 2).
  for (int i = threadIdx.x; i < group * hd; i += kThreads) {
    const int h = kvh * group + i / hd;
    const std::size_t slot = (static_cast<std::size_t>(t) * a.num_heads + h) * a.splits + split;
    a.scratch[slot * (hd + 2) + 2 + i % hd] = o_s[i];
  }
  for (int g = threadIdx.x; g < group; g += kThreads) {
    const int h = kvh * group + g;
    const std::size_t slot = (static_cast<std::size_t>(t) * a.num_heads + h) * a.splits + split;
    a.scratch[slot * (hd + 2)] = m_s[g];
    a.scratch[slot * (hd + 2) + 1] = l_s[g];
  }
}

template <int D, bool kBf16>
__global__ void __launch_bounds__(256) attention_fast_kernel(AttentionArgs a) {
  constexpr int kThreadsFast = 256, kWarpsFast = 8, kStride = D + 4, kOwn = 4;
  extern __shared__ float smem[];
  pdl_trigger();
  pdl_wait();
  const int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int group = a.num_heads / a.num_kv_heads;
  const int kv_dim = a.num_kv_heads * D;
  const int start = a.start_ptr != nullptr ? *a.start_ptr : a.start;
  const int len = start + t + 1;
  const int chunk = split_chunk(len, a.splits, a.min_chunk);
  const int k0 = split * chunk, k1 = min(len, k0 + chunk);
  if (k0 >= len) return;  // not in use at this length: the merge does not read it

  float* q_s = smem;                     // [group][D], scaled by 1/sqrt(D)
  float* k_s = q_s + group * D;          // [kTile][kStride]
  float* v_s = k_s + kTile * kStride;    // [kTile][kStride]
  float* p_s = v_s + kTile * kStride;    // [group][kTile]
  float* m_s = p_s + group * kTile;      // [group]
  float* l_s = m_s + group;
  float* alpha_s = l_s + group;
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  for (int i = threadIdx.x; i < group * D; i += kThreadsFast) {
    const int h = kvh * group + i / D;
    q_s[i] = a.qkv[static_cast<std::size_t>(t) * a.width + static_cast<std::size_t>(h) * D + i % D];
  }
  for (int h = threadIdx.x; h < group; h += kThreadsFast) {
    m_s[h] = -INFINITY;
    l_s[h] = 0.0f;
  }
  float4 o[kOwn];
#pragma unroll
  for (int u = 0; u < kOwn; ++u) o[u] = make_float4(0.f, 0.f, 0.f, 0.f);
  const int owned = group * (D / 4);  // (head, 4 dims) pairs, kOwn per thread at most
  __syncthreads();

  for (int base = k0; base < k1; base += kTile) {
    const int n = min(kTile, k1 - base);
    // K and V tiles -> f32 shared memory, 4 elements per access.
    for (int i = threadIdx.x; i < kTile * (D / 4); i += kThreadsFast) {
      const int k = i / (D / 4), d4 = (i % (D / 4)) * 4;
      float4 kv = make_float4(0.f, 0.f, 0.f, 0.f), vv = kv;
      if (k < n) {
        const std::size_t at = static_cast<std::size_t>(base + k) * kv_dim + kvh * D + d4;
        if constexpr (kBf16) {
          const uint2 kr = *reinterpret_cast<const uint2*>(static_cast<const std::uint16_t*>(a.k_cache) + at);
          const uint2 vr = *reinterpret_cast<const uint2*>(static_cast<const std::uint16_t*>(a.v_cache) + at);
          kv = make_float4(__uint_as_float(kr.x << 16), __uint_as_float(kr.x & 0xffff0000u),
                           __uint_as_float(kr.y << 16), __uint_as_float(kr.y & 0xffff0000u));
          vv = make_float4(__uint_as_float(vr.x << 16), __uint_as_float(vr.x & 0xffff0000u),
                           __uint_as_float(vr.y << 16), __uint_as_float(vr.y & 0xffff0000u));
        } else {
          kv = *reinterpret_cast<const float4*>(static_cast<const float*>(a.k_cache) + at);
          vv = *reinterpret_cast<const float4*>(static_cast<const float*>(a.v_cache) + at);
        }
      }
      *reinterpret_cast<float4*>(k_s + k * kStride + d4) = kv;
      *reinterpret_cast<float4*>(v_s + k * kStride + d4) = vv;
    }
    __syncthreads();
    // Scores: lane = key, warp = head (a warp shares its query row: broadcast reads).
    for (int i = threadIdx.x; i < group * kTile; i += kThreadsFast) {
      const int h = i / kTile, k = i % kTile;
      const float4* q4 = reinterpret_cast<const float4*>(q_s + h * D);
      const float4* k4 = reinterpret_cast<const float4*>(k_s + k * kStride);
      float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
#pragma unroll 8
      for (int d = 0; d < D / 4; ++d) {
        const float4 q = q4[d], kk = k4[d];
        s0 += q.x * kk.x;
        s1 += q.y * kk.y;
        s2 += q.z * kk.z;
        s3 += q.w * kk.w;
      }
      p_s[i] = k < n ? ((s0 + s1) + (s2 + s3)) * scale : -INFINITY;
    }
    __syncthreads();
    online_softmax_tile(p_s, m_s, l_s, alpha_s, group, kWarpsFast);
    __syncthreads();
#pragma unroll
    for (int u = 0; u < kOwn; ++u) {
      const int i = threadIdx.x + u * kThreadsFast;
      if (i < owned) {
        const int h = i / (D / 4), d4 = (i % (D / 4)) * 4;
        const float alpha = alpha_s[h];
        float4 acc = make_float4(o[u].x * alpha, o[u].y * alpha, o[u].z * alpha, o[u].w * alpha);
        const float* ph = p_s + h * kTile;
        for (int k = 0; k < n; ++k) {
          const float pk = ph[k];
          const float4 v = *reinterpret_cast<const float4*>(v_s + k * kStride + d4);
          acc.x += pk * v.x;
          acc.y += pk * v.y;
          acc.z += pk * v.z;
          acc.w += pk * v.w;
        }
        o[u] = acc;
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int u = 0; u < kOwn; ++u) {
    const int i = threadIdx.x + u * kThreadsFast;
    if (i < owned) {
      const int g = i / (D / 4), d4 = (i % (D / 4)) * 4;
      const std::size_t slot = (static_cast<std::size_t>(t) * a.num_heads + kvh * group + g) * a.splits + split;
      float* dst = a.scratch + slot * (D + 2) + 2 + d4;
      dst[0] = o[u].x;
      dst[1] = o[u].y;
      dst[2] = o[u].z;
      dst[3] = o[u].w;
    }
  }
  for (int g = threadIdx.x; g < group; g += kThreadsFast) {
    const std::size_t slot = (static_cast<std::size_t>(t) * a.num_heads + kvh * group + g) * a.splits + split;
    a.scratch[slot * (D + 2)] = m_s[g];
    a.scratch[slot * (D + 2) + 1] = l_s[g];
  }
}

// One block per (token, head): out = sum_s o_s e^(m_s - M) / sum_s l_s e^(m_s - M) over the splits in use.
__global__ void attention_merge_kernel(AttentionArgs a) {
  __shared__ float w_s[kMaxSplits];
  __shared__ float red[32];
  pdl_trigger();
  pdl_wait();
  const int t = blockIdx.x / a.num_heads, h = blockIdx.x % a.num_heads;
  const int hd = a.head_dim;
  const int start = a.start_ptr != nullptr ? *a.start_ptr : a.start;
  const int len = start + t + 1;
  const int chunk = split_chunk(len, a.splits, a.min_chunk);
  const int active = min(a.splits, (len + chunk - 1) / chunk);
  const float* base = a.scratch + (static_cast<std::size_t>(t) * a.num_heads + h) * a.splits * (hd + 2);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  float mx = -INFINITY;
  for (int s = threadIdx.x; s < active; s += blockDim.x) mx = fmaxf(mx, base[s * (hd + 2)]);
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
  if (lane == 0) red[warp] = mx;
  __syncthreads();
  float M = red[0];
  for (int w = 1; w < warps; ++w) M = fmaxf(M, red[w]);
  __syncthreads();
  float lsum = 0.0f;
  for (int s = threadIdx.x; s < active; s += blockDim.x) {
    const float m = base[s * (hd + 2)];
    const float w = m == -INFINITY ? 0.0f : expf(m - M);
    w_s[s] = w;
    lsum += base[s * (hd + 2) + 1] * w;
  }
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) lsum += __shfl_xor_sync(0xffffffffu, lsum, off);
  if (lane == 0) red[warp] = lsum;
  __syncthreads();
  float L = 0.0f;
  for (int w = 0; w < warps; ++w) L += red[w];
  const float inv = 1.0f / L;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float acc = 0.0f;
#pragma unroll 4
    for (int s = 0; s < active; ++s) acc += base[s * (hd + 2) + 2 + d] * w_s[s];
    const float v = acc * inv;
    const std::size_t o = static_cast<std::size_t>(t) * a.num_heads * hd + static_cast<std::size_t>(h) * hd + d;
    if (a.out_bf16) {
      static_cast<__nv_bfloat16*>(a.out)[o] = __float2bfloat16_rn(v);
    } else {
      static_cast<float*>(a.out)[o] = v;
    }
  }
}

template <int D>
cudaError_t launch_fast(const AttentionArgs& a, cudaStream_t stream) {
  const int group = a.num_heads / a.num_kv_heads;
  const std::size_t smem = sizeof(float) * (static_cast<std::size_t>(group) * D + 2 * kTile * (D + 4) +
                                            static_cast<std::size_t>(group) * kTile + 3 * group);
  auto kernel = a.cache_bf16 ? attention_fast_kernel<D, true> : attention_fast_kernel<D, false>;
  if (smem > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return e;
  }
  return launch_chained(kernel, dim3(a.tokens, a.num_kv_heads, a.splits), dim3(256), smem, stream, a);
}

}  // namespace

std::size_t attention_scratch_floats(int tokens, int num_heads, int head_dim, int splits) {
  return static_cast<std::size_t>(tokens) * num_heads * splits * (head_dim + 2);
}

cudaError_t launch_attention(const AttentionArgs& a, cudaStream_t stream) {
  if (a.num_kv_heads <= 0 || a.num_heads % a.num_kv_heads != 0 || a.head_dim <= 0 || a.head_dim > 256 ||
      a.splits <= 0 || a.splits > kMaxSplits || a.tokens <= 0 || a.scratch == nullptr || a.min_chunk < kTile ||
      a.min_chunk % kTile != 0) {
    return cudaErrorInvalidValue;
  }
  const int group = a.num_heads / a.num_kv_heads, hd = a.head_dim;
  const int merge_threads = hd < 128 ? 64 : 128;
  // The fast kernel owns up to 4 (head, 4 dims) pairs per thread: group * D / 4 <= 1024.
  if ((hd == 32 || hd == 64 || hd == 128) && group * hd <= 4096) {
    cudaError_t e = hd == 32 ? launch_fast<32>(a, stream) : hd == 64 ? launch_fast<64>(a, stream) : launch_fast<128>(a, stream);
    if (e != cudaSuccess) return e;
    return launch_chained(attention_merge_kernel, dim3(a.tokens * a.num_heads), dim3(merge_threads), 0, stream, a);
  }
  const std::size_t smem =
      sizeof(float) * (static_cast<std::size_t>(group) * hd * 2 + kTile * (hd + 1) + group * kTile + 3 * group);
  auto kernel = a.cache_bf16 ? attention_partial_kernel<true> : attention_partial_kernel<false>;
  if (smem > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return e;
  }
  const cudaError_t e = launch_chained(kernel, dim3(a.tokens, a.num_kv_heads, a.splits), dim3(kThreads), smem, stream, a);
  if (e != cudaSuccess) return e;
  return launch_chained(attention_merge_kernel, dim3(a.tokens * a.num_heads), dim3(merge_threads), 0, stream, a);
}

}  // namespace alltools::model::cuda
