// Device kernels of the CUDA backend, as host-callable launchers (each enqueues on `stream` and returns
// without synchronising). Internal to model/cuda and its tests; CudaModel is the public face.
//
// Conventions: activations and the residual stream are f32; weight matrices are row-major [rows, cols] in one of
// DevFormat (int8 rows carry one f32 scale each); the KV cache holds keys and values per layer as
// [capacity, kv_dim] in f32 (f32 models) or bf16 (bf16 / int8 models). `start_ptr` arguments, when not null,
// are read on the device instead of `start` (the decode step is captured once as a CUDA graph and replayed at
// every position, so the position lives in device memory).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace alltools::model::cuda {

enum class DevFormat : std::uint8_t { kF32, kBF16, kI8 };
const char* dev_format_name(DevFormat f);
int dev_format_bytes(DevFormat f);  // bytes per element

struct DevMatrix {
  DevFormat format = DevFormat::kBF16;
  int rows = 0;
  int cols = 0;
  void* data = nullptr;          // rows * cols elements
  const float* scales = nullptr;  // kI8: [rows]
  std::uint64_t bytes() const {
    return static_cast<std::uint64_t>(rows) * cols * dev_format_bytes(format) + (format == DevFormat::kI8 ? 4ull * rows : 0);
  }
};

// ---- launch mode ------------------------------------------------------------------------------------------------
// Whether the decode-chain kernels launch with Programmatic Dependent Launch (model/cuda/launch.cuh): set per
// thread by PdlScope (the decode step), and only when the device
// is sm_90+ and ALLTOOLS_CUDA_PDL is "1" (off by default: on an H200 it measured slower, 4.47 ms vs 5.28 ms
// for a 40-layer GEMV chain).
bool pdl_active();
class PdlScope {
 public:
  explicit PdlScope(bool on);
  ~PdlScope();
  PdlScope(const PdlScope&) = delete;
  PdlScope& operator=(const PdlScope&) = delete;

 private:
  bool previous_;
};
bool pdl_supported();  // device 0 is sm_90+ and ALLTOOLS_CUDA_PDL == "1"

// ---- GEMV (decode: one token) ---------------------------------------------------------------------------------
enum class GemvIn { kPlain, kRmsNorm };  // kRmsNorm: x is normalised in the prologue (x * rsqrt(mean x^2 + eps) * g)
enum class GemvOut {
  kStore,        // y[r] = W x
  kBias,         // y[r] = W x + bias[r]
  kAccumulate,   // y[r] += W x (residual add)
  kSwiGlu,       // y[i] = silu((W x)[i]) * (W x)[i + rows/2], i < rows/2
  kQkvRope,      // the fused QKV projection of one token: + bias, RoPE on query and key heads at position *pos
                 // (rows 2j, 2j+1 are a rotary pair), queries to y, keys and values into the cache at *pos
};
struct RopeTarget {  // kQkvRope only
  const int* pos = nullptr;
  const float* inv_freq = nullptr;
  int head_dim = 0, rotary_dim = 0, q_dim = 0, kv_dim = 0;
  void* k_cache = nullptr;  // this layer's [capacity, kv_dim]
  void* v_cache = nullptr;
  bool cache_bf16 = false;
};
struct GemvArgs {
  DevMatrix w;
  const float* x = nullptr;       // [w.cols]
  const float* norm = nullptr;    // kRmsNorm: [w.cols]
  float eps = 0.0f;
  const float* bias = nullptr;    // kBias, kQkvRope: [w.rows]
  float* y = nullptr;
  RopeTarget rope;                // kQkvRope
};
cudaError_t launch_gemv(GemvIn in, GemvOut out, const GemvArgs& args, cudaStream_t stream);

// ---- elementwise / per-row ops ----------------------------------------------------------------------------------
// x[t] = embedding row tokens[t] (f32 or bf16 embedding), t < tokens.
cudaError_t launch_embed(const DevMatrix& emb, const std::int32_t* tokens, int count, float* x, cudaStream_t stream);
// out[t] = rmsnorm(x[t]) * g, rows of width n; out is f32 or bf16 (`out_bf16`).
cudaError_t launch_rms_norm(const float* x, const float* g, int n, float eps, int rows, void* out, bool out_bf16,
                            cudaStream_t stream);
// x[t] += rmsnorm(o[t]) * g (GLM-4-0414's post-attention / post-MLP norms before the residual add).
cudaError_t launch_norm_add(float* x, const float* o, const float* g, int n, float eps, int rows, cudaStream_t stream);
// out[t, i] = silu(gu[t, i]) * gu[t, F + i]; gu and out each f32 or bf16.
cudaError_t launch_swiglu(const void* gu, bool gu_bf16, int ffn, int rows, void* out, bool out_bf16,
                          cudaStream_t stream);

struct RopeCacheArgs {
  float* qkv = nullptr;            // [tokens, q_dim + 2 kv_dim], f32, updated in place (bias added, q rotated)
  const float* bias = nullptr;     // [q_dim + 2 kv_dim] or null
  const float* inv_freq = nullptr; // [rotary_dim / 2]
  int tokens = 0;
  int start = 0;
  const int* start_ptr = nullptr;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0, rotary_dim = 0;
  void* k_cache = nullptr;         // this layer's keys [capacity, kv_dim]
  void* v_cache = nullptr;
  bool cache_bf16 = false;
};
// Adds the bias, applies GLM's interleaved partial RoPE to query and key heads at positions start + t, and
// writes keys and values into the cache at those positions.
cudaError_t launch_rope_cache(const RopeCacheArgs& a, cudaStream_t stream);

// ---- attention ----------------------------------------------------------------------------------------------
struct AttentionArgs {
  const float* qkv = nullptr;      // queries at qkv[t * width + head * head_dim] (already rotated)
  int width = 0;
  const void* k_cache = nullptr;   // this layer's [capacity, kv_dim]
  const void* v_cache = nullptr;
  bool cache_bf16 = false;
  int tokens = 0;
  int start = 0;                   // query t sits at position start + t and sees keys [0, start + t]
  const int* start_ptr = nullptr;
  int num_heads = 0, num_kv_heads = 0, head_dim = 0;
  void* out = nullptr;             // [tokens, num_heads * head_dim]
  bool out_bf16 = false;
  // Scratch for the split-key partial results: splits * tokens * num_heads * (head_dim + 2) floats.
  float* scratch = nullptr;
  int splits = 1;
  // Keys per split at least (a multiple of 32): short contexts use fewer splits. 64 is the measured default;
  // ALLTOOLS_CUDA_ATTN_MIN_CHUNK sets the decode step's (at 2k keys, 64 leaves 34 of 128 splits busy).
  int min_chunk = 64;
};
// f32 attention for any head_dim <= 256: each block takes one token, one KV head (all its query heads, so each
// key and value is read once per group) and one slice of the keys; a second kernel merges the slices.
cudaError_t launch_attention(const AttentionArgs& a, cudaStream_t stream);
std::size_t attention_scratch_floats(int tokens, int num_heads, int head_dim, int splits);
// Tensor-core flash attention for prefill (bf16 K/V cache, bf16 out; head_dim 32, 64 or 128): 64 queries of one
// head per block, online softmax in registers. Returns cudaErrorNotSupported for other shapes.
bool flash_attention_supported(int head_dim);
cudaError_t launch_flash_attention(const AttentionArgs& a, cudaStream_t stream);

// ---- weights ----------------------------------------------------------------------------------------------------
enum class HostFormat : std::uint8_t { kF32, kBF16, kF16 };
// dst = convert(src) for n elements (src on the device, in a checkpoint format); dst f32 or bf16.
cudaError_t launch_convert(const void* src, HostFormat from, void* dst, DevFormat to, std::uint64_t n,
                           cudaStream_t stream);
// Per-row int8 quantization: scale[r] = max|w[r]| / 127, q = round_half_even(w / scale), as the CPU backend does.
cudaError_t launch_quantize_rows(const void* src, HostFormat from, int rows, int cols, std::int8_t* q, float* scales,
                                 cudaStream_t stream);
// dst (bf16) = q * scale, for the prefill GEMM of int8 matrices.
cudaError_t launch_dequantize_rows(const std::int8_t* q, const float* scales, int rows, int cols, void* dst_bf16,
                                   cudaStream_t stream);

// ---- sampling ---------------------------------------------------------------------------------------------------
struct SampleArgs {
  float* logits = nullptr;          // [vocab]; modified (penalty, temperature)
  int vocab = 0;
  const std::uint8_t* seen = nullptr;  // [vocab] tokens in the context, for the repetition penalty (or null)
  float repetition_penalty = 1.0f;
  float temperature = 0.0f;         // 0 = greedy
  int top_k = 0;
  float top_p = 1.0f;
  std::uint64_t* rng_state = nullptr;  // splitmix64 state, advanced on the device (one draw per sample)
  std::int32_t* token_out = nullptr;   // the sampled id
  std::uint8_t* seen_out = nullptr;    // when not null, seen_out[token] = 1
};
// One block: repetition penalty, then argmax (lowest id wins a tie) or temperature + top-k + top-p + a draw.
cudaError_t launch_sample(const SampleArgs& a, cudaStream_t stream);
// seen[ids[i]] = 1 for i < count.
cudaError_t launch_mark_seen(const std::int32_t* ids, int count, std::uint8_t* seen, cudaStream_t stream);

}  // namespace alltools::model::cuda
