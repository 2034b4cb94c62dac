// Sampling on the device, so that only the chosen token id crosses to the host per step. One block of 1024
// threads: repetition penalty (CTRL, as the CPU sampler), then either argmax (lowest id wins a tie) or
// temperature + top-k + top-p + one draw. The top-k and top-p cut-offs are found by radix selection over the
// logits' order-preserving 32-bit keys (four 8-bit passes with a shared-memory histogram of counts or of
// probability mass), so nothing is sorted. The draw walks the kept tokens in id order with a splitmix64 uniform
// (the CPU sampler's generator). Differences from the CPU sampler, by design: tokens tied at a cut-off are all
// kept, and the walk is in id order, so the same seed picks from the same distribution but not always the same
// token.
#include <cstdint>

#include "model/cuda/kernels.h"

namespace alltools::model::cuda {
namespace {

constexpr int kThreads = 1024;

__device__ __forceinline__ std::uint32_t order_key(float f) {
  const std::uint32_t b = __float_as_uint(f);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

struct Best {
  float value;
  int index;
};
__device__ __forceinline__ Best better(Best a, Best b) {
  if (a.value != b.value) return a.value > b.value ? a : b;
  return a.index < b.index ? a : b;
}

// Largest key K with weight(key >= K, key >= floor) >= target, where weight is 1 per token (mass = false) or
// exp((l - max) / temperature) (mass = true).
__device__ std::uint32_t radix_select(const float* logits, int vocab, std::uint32_t floor, bool mass, float max_logit,
                                      float temperature, double target, double* hist, std::uint32_t* shared_word) {
  std::uint32_t prefix = 0, mask = 0;
  for (int pass = 0; pass < 4; ++pass) {
    const int shift = 24 - 8 * pass;
    for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0.0;
    __syncthreads();
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
      const std::uint32_t key = order_key(logits[i]);
      if (key < floor || (key & mask) != prefix) continue;
      const double w = mass ? static_cast<double>(expf((logits[i] - max_logit) / temperature)) : 1.0;
      atomicAdd(&hist[(key >> shift) & 255u], w);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      double cum = 0.0;
      int chosen = -1, lowest = -1;
      for (int b = 255; b >= 0; --b) {
        if (hist[b] > 0.0) lowest = b;
        if (hist[b] > 0.0 && cum + hist[b] >= target) {
          chosen = b;
          target -= cum;
          break;
        }
        cum += hist[b];
      }
      if (chosen < 0) chosen = lowest < 0 ? 0 : lowest;  // rounding left the target unreached: keep everything
      *shared_word = static_cast<std::uint32_t>(chosen);
    }
    __syncthreads();
    prefix |= *shared_word << shift;
    mask |= 255u << shift;
    // every thread computed the same `target` update only on thread 0: broadcast it through hist[0]
    if (threadIdx.x == 0) hist[0] = target;
    __syncthreads();
    target = hist[0];
    __syncthreads();
  }
  return prefix;
}

__global__ void __launch_bounds__(kThreads) sample_kernel(SampleArgs a) {
  __shared__ double hist[256];
  __shared__ double sums[kThreads];
  __shared__ Best best_s[32];
  __shared__ std::uint32_t word;
  const int V = a.vocab;
  if (a.seen != nullptr && a.repetition_penalty != 1.0f && a.repetition_penalty > 0.0f) {
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
      if (a.seen[i]) {
        const float l = a.logits[i];
        a.logits[i] = l > 0.0f ? l / a.repetition_penalty : l * a.repetition_penalty;
      }
    }
    __syncthreads();
  }
  // Argmax (also the max for the softmax).
  Best b{-INFINITY, V};
  for (int i = threadIdx.x; i < V; i += blockDim.x) b = better(b, Best{a.logits[i], i});
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    Best other{__shfl_xor_sync(0xffffffffu, b.value, o), __shfl_xor_sync(0xffffffffu, b.index, o)};
    b = better(b, other);
  }
  if (threadIdx.x % 32 == 0) best_s[threadIdx.x / 32] = b;
  __syncthreads();
  if (threadIdx.x == 0) {
    Best all = best_s[0];
    for (int w = 1; w < kThreads / 32; ++w) all = better(all, best_s[w]);
    best_s[0] = all;
  }
  __syncthreads();
  const Best top = best_s[0];
  int chosen = top.index < V ? top.index : 0;
  if (a.temperature > 0.0f) {
    std::uint32_t floor = 0;
    if (a.top_k > 0 && a.top_k < V) {
      floor = radix_select(a.logits, V, 0, false, top.value, a.temperature, static_cast<double>(a.top_k), hist, &word);
    }
    // Mass of the kept set.
    double z = 0.0;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
      if (order_key(a.logits[i]) >= floor) z += expf((a.logits[i] - top.value) / a.temperature);
    }
    sums[threadIdx.x] = z;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) sums[threadIdx.x] += sums[threadIdx.x + s];
      __syncthreads();
    }
    z = sums[0];
    __syncthreads();
    if (a.top_p < 1.0f && a.top_p > 0.0f) {
      floor = radix_select(a.logits, V, floor, true, top.value, a.temperature, static_cast<double>(a.top_p) * z, hist,
                           &word);
    }
    // Each thread owns a contiguous id range; an exclusive scan of the range masses finds the drawn one.
    const int per = (V + kThreads - 1) / kThreads;
    const int lo = threadIdx.x * per, hi = min(V, lo + per);
    double mine = 0.0;
    for (int i = lo; i < hi; ++i) {
      if (order_key(a.logits[i]) >= floor) mine += expf((a.logits[i] - top.value) / a.temperature);
    }
    sums[threadIdx.x] = mine;
    __syncthreads();
    for (int s = 1; s < kThreads; s <<= 1) {  // inclusive Hillis-Steele scan
      const double add = threadIdx.x >= s ? sums[threadIdx.x - s] : 0.0;
      __syncthreads();
      sums[threadIdx.x] += add;
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      std::uint64_t st = *a.rng_state + 0x9e3779b97f4a7c15ull;
      *a.rng_state = st;
      st = (st ^ (st >> 30)) * 0xbf58476d1ce4e5b9ull;
      st = (st ^ (st >> 27)) * 0x94d049bb133111ebull;
      st ^= st >> 31;
      hist[0] = static_cast<double>(st >> 11) * 0x1.0p-53 * sums[kThreads - 1];
      word = static_cast<std::uint32_t>(top.index);  // fallback: the argmax
    }
    __syncthreads();
    const double u = hist[0];
    const double before = threadIdx.x > 0 ? sums[threadIdx.x - 1] : 0.0;
    if (u >= before && u < sums[threadIdx.x]) {
      double acc = before;
      int pick = -1, last = -1;
      for (int i = lo; i < hi; ++i) {
        if (order_key(a.logits[i]) < floor) continue;
        last = i;
        acc += expf((a.logits[i] - top.value) / a.temperature);
        if (u < acc) {
          pick = i;
          break;
        }
      }
      word = static_cast<std::uint32_t>(pick >= 0 ? pick : last);
    }
    __syncthreads();
    chosen = static_cast<int>(word);
  }
  if (threadIdx.x == 0) {
    *a.token_out = chosen;
    if (a.seen_out != nullptr) a.seen_out[chosen] = 1;
  }
}

__global__ void mark_seen_kernel(const std::int32_t* ids, int count, std::uint8_t* seen) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) seen[ids[i]] = 1;
}

}  // namespace

cudaError_t launch_sample(const SampleArgs& a, cudaStream_t stream) {
  if (a.vocab <= 0 || a.logits == nullptr || a.token_out == nullptr || (a.temperature > 0.0f && a.rng_state == nullptr)) {
    return cudaErrorInvalidValue;
  }
  sample_kernel<<<1, kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

cudaError_t launch_mark_seen(const std::int32_t* ids, int count, std::uint8_t* seen, cudaStream_t stream) {
  if (count <= 0) return cudaSuccess;
  mark_seen_kernel<<<(count + 255) / 256, 256, 0, stream>>>(ids, count, seen);
  return cudaGetLastError();
}

}  // namespace alltools::model::cuda
