// f32 attention with split keys (decode, and prefill of f32 models). Block (t, kv head, split) loads its slice of
// the keys and values once, tile by tile, for every query head of the group, keeps an online softmax per head
// (running max m, sum l, unnormalised output o) and writes (m, l, o) for its slice; attention_merge_kernel
// combines the slices. The number of splits is fixed at launch; each block derives its key range from the
// current position, which may be read from device memory (decode graph).
#include <cuda_bf16.h>

#include <cstdint>

#include "model/cuda/kernels.h"

namespace alltools::model::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kTile = 32;  // keys per tile

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
  const int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int hd = a.head_dim, group = a.num_heads / a.num_kv_heads;
  const int kv_dim = a.num_kv_heads * hd;
  const int start = a.start_ptr != nullptr ? *a.start_ptr : a.start;
  const int len = start + t + 1;  // keys [0, len)
  int chunk = (len + a.splits - 1) / a.splits;
  chunk = (chunk + kTile - 1) / kTile * kTile;
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

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
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
    for (int h = warp; h < group; h += kThreads / 32) {
      const float s = p_s[h * kTile + lane];
      float tmax = s;
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, o));
      const float m_old = m_s[h];
      const float m_new = fmaxf(m_old, tmax);
      const float p = s == -INFINITY ? 0.0f : expf(s - m_new);
      float psum = p;
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) psum += __shfl_xor_sync(0xffffffffu, psum, o);
      p_s[h * kTile + lane] = p;
      if (lane == 0) {
        const float alpha = m_old == -INFINITY ? 0.0f : expf(m_old - m_new);
        alpha_s[h] = alpha;
        l_s[h] = l_s[h] * alpha + psum;
        m_s[h] = m_new;
      }
    }
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

// One block per (token, head): out = sum_s o_s e^(m_s - M) / sum_s l_s e^(m_s - M).
__global__ void attention_merge_kernel(AttentionArgs a) {
  const int t = blockIdx.x / a.num_heads, h = blockIdx.x % a.num_heads;
  const int hd = a.head_dim;
  const float* base = a.scratch + (static_cast<std::size_t>(t) * a.num_heads + h) * a.splits * (hd + 2);
  float M = -INFINITY;
  for (int s = 0; s < a.splits; ++s) M = fmaxf(M, base[s * (hd + 2)]);
  float L = 0.0f;
  for (int s = 0; s < a.splits; ++s) {
    const float m = base[s * (hd + 2)];
    if (m != -INFINITY) L += base[s * (hd + 2) + 1] * expf(m - M);
  }
  const float inv = 1.0f / L;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float acc = 0.0f;
    for (int s = 0; s < a.splits; ++s) {
      const float m = base[s * (hd + 2)];
      if (m != -INFINITY) acc += base[s * (hd + 2) + 2 + d] * expf(m - M);
    }
    const float v = acc * inv;
    const std::size_t o = static_cast<std::size_t>(t) * a.num_heads * hd + static_cast<std::size_t>(h) * hd + d;
    if (a.out_bf16) {
      static_cast<__nv_bfloat16*>(a.out)[o] = __float2bfloat16_rn(v);
    } else {
      static_cast<float*>(a.out)[o] = v;
    }
  }
}

}  // namespace

std::size_t attention_scratch_floats(int tokens, int num_heads, int head_dim, int splits) {
  return static_cast<std::size_t>(tokens) * num_heads * splits * (head_dim + 2);
}

cudaError_t launch_attention(const AttentionArgs& a, cudaStream_t stream) {
  if (a.num_kv_heads <= 0 || a.num_heads % a.num_kv_heads != 0 || a.head_dim <= 0 || a.head_dim > 256 ||
      a.splits <= 0 || a.tokens <= 0 || a.scratch == nullptr) {
    return cudaErrorInvalidValue;
  }
  const int group = a.num_heads / a.num_kv_heads, hd = a.head_dim;
  const std::size_t smem =
      sizeof(float) * (static_cast<std::size_t>(group) * hd * 2 + kTile * (hd + 1) + group * kTile + 3 * group);
  auto kernel = a.cache_bf16 ? attention_partial_kernel<true> : attention_partial_kernel<false>;
  if (smem > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return e;
  }
  kernel<<<dim3(a.tokens, a.num_kv_heads, a.splits), kThreads, smem, stream>>>(a);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  attention_merge_kernel<<<a.tokens * a.num_heads, hd < 128 ? hd : 128, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace alltools::model::cuda
