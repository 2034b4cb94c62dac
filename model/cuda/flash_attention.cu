// Tensor-core flash attention for prefill (FlashAttention-2's schedule, written for this backend): a block of
// four warps takes 64 queries of one head; each warp owns 16 query rows and keeps its scores, its online-softmax
// state and its output tile in registers (mma.sync m16n8k16, bf16 in, f32 accumulate). Key and value tiles of 64
// positions arrive in shared memory through cp.async (rows past the visible range are zero-filled); the score
// fragments are re-packed in registers as the A operand of P V, and V's B operand comes from ldmatrix.trans.
// Scores are scaled by log2(e) / sqrt(head_dim) so that exp2 does the softmax.
#include <cuda_bf16.h>

#include <cstdint>

#include "model/cuda/kernels.h"

namespace alltools::model::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kRowsPerBlock = 16 * kWarps;
constexpr int kKeyTile = 64;

__device__ __forceinline__ std::uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const std::uint32_t*>(&v);
}

__device__ __forceinline__ void mma_bf16(float (&c)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(bytes));
}

template <int D>
__global__ void __launch_bounds__(kWarps * 32) flash_attention_kernel(AttentionArgs a) {
  constexpr int kStride = D + 8;  // bf16 elements per shared row: 16-byte pad keeps ldmatrix and loads conflict-free
  __shared__ __align__(16) std::uint16_t k_s[kKeyTile * kStride];
  __shared__ __align__(16) std::uint16_t v_s[kKeyTile * kStride];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, tq = lane % 4;
  const int head = blockIdx.y, kvh = head / (a.num_heads / a.num_kv_heads);
  const int kv_dim = a.num_kv_heads * D, q_dim = a.num_heads * D;
  const int block_q = blockIdx.x * kRowsPerBlock;
  const int qi0 = block_q + warp * 16 + g, qi1 = qi0 + 8;
  const int start = a.start;
  const float qscale = 1.4426950408889634f / sqrtf(static_cast<float>(D));

  // Q fragments (A operand), rows qi0 / qi1; rows past the chunk are zero.
  std::uint32_t qa[D / 16][4];
#pragma unroll
  for (int c = 0; c < D / 16; ++c) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int col = 16 * c + 8 * half + 2 * tq;
      float x0 = 0.f, x1 = 0.f, y0 = 0.f, y1 = 0.f;
      if (qi0 < a.tokens) {
        const float* q = a.qkv + static_cast<std::size_t>(qi0) * a.width + static_cast<std::size_t>(head) * D + col;
        x0 = q[0] * qscale;
        x1 = q[1] * qscale;
      }
      if (qi1 < a.tokens) {
        const float* q = a.qkv + static_cast<std::size_t>(qi1) * a.width + static_cast<std::size_t>(head) * D + col;
        y0 = q[0] * qscale;
        y1 = q[1] * qscale;
      }
      qa[c][2 * half] = pack_bf16(x0, x1);
      qa[c][2 * half + 1] = pack_bf16(y0, y1);
    }
  }

  float o[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;
  const int qpos0 = start + qi0, qpos1 = start + qi1;

  const int visible = min(start + block_q + kRowsPerBlock, start + a.tokens);  // keys [0, visible)
  const int tiles = (visible + kKeyTile - 1) / kKeyTile;
  const auto* kc = static_cast<const std::uint16_t*>(a.k_cache);
  const auto* vc = static_cast<const std::uint16_t*>(a.v_cache);
  for (int tile = 0; tile < tiles; ++tile) {
    const int key0 = tile * kKeyTile;
    __syncthreads();  // the previous tile is no longer read
    for (int i = threadIdx.x; i < kKeyTile * (D / 8); i += kWarps * 32) {
      const int r = i / (D / 8), c8 = i % (D / 8);
      const bool valid = key0 + r < visible;
      const std::size_t off = valid ? static_cast<std::size_t>(key0 + r) * kv_dim + kvh * D + c8 * 8 : 0;
      cp_async16(k_s + r * kStride + c8 * 8, kc + off, valid);
      cp_async16(v_s + r * kStride + c8 * 8, vc + off, valid);
    }
    asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
    __syncthreads();

    float s[kKeyTile / 8][4];
#pragma unroll
    for (int j = 0; j < kKeyTile / 8; ++j) {
      s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
      const std::uint16_t* krow = k_s + (8 * j + g) * kStride;
#pragma unroll
      for (int c = 0; c < D / 16; ++c) {
        const std::uint32_t b0 = *reinterpret_cast<const std::uint32_t*>(krow + 16 * c + 2 * tq);
        const std::uint32_t b1 = *reinterpret_cast<const std::uint32_t*>(krow + 16 * c + 8 + 2 * tq);
        mma_bf16(s[j], qa[c], b0, b1);
      }
    }
    // Causal mask, row maxima.
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int j = 0; j < kKeyTile / 8; ++j) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int key = key0 + 8 * j + 2 * tq + e;
        if (key > qpos0) s[j][e] = -INFINITY;
        if (key > qpos1) s[j][2 + e] = -INFINITY;
        mx0 = fmaxf(mx0, s[j][e]);
        mx1 = fmaxf(mx1, s[j][2 + e]);
      }
    }
#pragma unroll
    for (int off = 1; off < 4; off <<= 1) {
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, off));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, off));
    }
    const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
    const float ref0 = n0 == -INFINITY ? 0.f : n0, ref1 = n1 == -INFINITY ? 0.f : n1;
    const float alpha0 = exp2f(m0 - ref0), alpha1 = exp2f(m1 - ref1);
    m0 = n0;
    m1 = n1;
    float sum0 = 0.f, sum1 = 0.f;
#pragma unroll
    for (int j = 0; j < kKeyTile / 8; ++j) {
      s[j][0] = exp2f(s[j][0] - ref0);
      s[j][1] = exp2f(s[j][1] - ref0);
      s[j][2] = exp2f(s[j][2] - ref1);
      s[j][3] = exp2f(s[j][3] - ref1);
      sum0 += s[j][0] + s[j][1];
      sum1 += s[j][2] + s[j][3];
    }
    l0 = l0 * alpha0 + sum0;
    l1 = l1 * alpha1 + sum1;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      o[n][0] *= alpha0;
      o[n][1] *= alpha0;
      o[n][2] *= alpha1;
      o[n][3] *= alpha1;
    }
    // O += P V.
#pragma unroll
    for (int kc16 = 0; kc16 < kKeyTile / 16; ++kc16) {
      const std::uint32_t pa[4] = {pack_bf16(s[2 * kc16][0], s[2 * kc16][1]), pack_bf16(s[2 * kc16][2], s[2 * kc16][3]),
                                   pack_bf16(s[2 * kc16 + 1][0], s[2 * kc16 + 1][1]),
                                   pack_bf16(s[2 * kc16 + 1][2], s[2 * kc16 + 1][3])};
#pragma unroll
      for (int dn = 0; dn < D / 16; ++dn) {
        const int mat = lane / 8, r = lane % 8;
        const std::uint16_t* p = v_s + (kc16 * 16 + (mat & 1) * 8 + r) * kStride + dn * 16 + (mat >> 1) * 8;
        const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
        std::uint32_t v0, v1, v2, v3;
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(v0), "=r"(v1), "=r"(v2), "=r"(v3)
                     : "r"(addr));
        mma_bf16(o[2 * dn], pa, v0, v1);
        mma_bf16(o[2 * dn + 1], pa, v2, v3);
      }
    }
  }
#pragma unroll
  for (int off = 1; off < 4; off <<= 1) {
    l0 += __shfl_xor_sync(0xffffffffu, l0, off);
    l1 += __shfl_xor_sync(0xffffffffu, l1, off);
  }
  const float inv0 = l0 > 0.f ? 1.f / l0 : 0.f, inv1 = l1 > 0.f ? 1.f / l1 : 0.f;
  auto* out = static_cast<std::uint32_t*>(a.out);  // bf16 pairs
#pragma unroll
  for (int n = 0; n < D / 8; ++n) {
    const int col = head * D + 8 * n + 2 * tq;
    if (qi0 < a.tokens) out[(static_cast<std::size_t>(qi0) * q_dim + col) / 2] = pack_bf16(o[n][0] * inv0, o[n][1] * inv0);
    if (qi1 < a.tokens) out[(static_cast<std::size_t>(qi1) * q_dim + col) / 2] = pack_bf16(o[n][2] * inv1, o[n][3] * inv1);
  }
}

}  // namespace

bool flash_attention_supported(int head_dim) { return head_dim == 32 || head_dim == 64 || head_dim == 128; }

cudaError_t launch_flash_attention(const AttentionArgs& a, cudaStream_t stream) {
  if (!a.cache_bf16 || !a.out_bf16 || a.start_ptr != nullptr || a.num_kv_heads <= 0 ||
      a.num_heads % a.num_kv_heads != 0 || a.tokens <= 0) {
    return cudaErrorInvalidValue;
  }
  const dim3 grid((a.tokens + kRowsPerBlock - 1) / kRowsPerBlock, a.num_heads);
  switch (a.head_dim) {
    case 32: flash_attention_kernel<32><<<grid, kWarps * 32, 0, stream>>>(a); break;
    case 64: flash_attention_kernel<64><<<grid, kWarps * 32, 0, stream>>>(a); break;
    case 128: flash_attention_kernel<128><<<grid, kWarps * 32, 0, stream>>>(a); break;
    default: return cudaErrorNotSupported;
  }
  return cudaGetLastError();
}

}  // namespace alltools::model::cuda
