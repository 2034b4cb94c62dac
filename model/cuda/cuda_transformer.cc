#include "model/cuda/cuda_transformer.h"

#include <algorithm>
#include <cstdlib>

#include "model/cpu/thread_pool.h"
#include "model/cpu/transformer.h"
#include "model/cpu/weights.h"
#include "model/loader/checkpoint.h"

namespace alltools::model::cuda {
namespace {

constexpr int kMaxDecodeSplits = 128;

HostFormat host_format(cpu::WeightFormat f) {
  switch (f) {
    case cpu::WeightFormat::kF32: return HostFormat::kF32;
    case cpu::WeightFormat::kF16: return HostFormat::kF16;
    default: return HostFormat::kBF16;
  }
}
std::size_t host_bytes(cpu::WeightFormat f) { return f == cpu::WeightFormat::kF32 ? 4 : 2; }

// Uploads host matrices into device matrices of one format, through a reused staging buffer.
class Uploader {
 public:
  Uploader(DevWeights& w, cudaStream_t stream) : w_(w), stream_(stream) {}

  Result<float*> vector(const std::vector<float>& v) {
    ALLTOOLS_ASSIGN_OR_RETURN(DeviceBuffer b, DeviceBuffer::allocate(v.size() * sizeof(float)));
    ALLTOOLS_CUDA_TRY(cudaMemcpy(b.get(), v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice));
    float* p = b.as<float>();
    w_.storage.push_back(std::move(b));
    return p;
  }

  // A device matrix [rows, cols] in `format`, filled from host parts stacked by row.
  Result<DevMatrix> matrix(std::span<const cpu::Matrix* const> parts, DevFormat format) {
    DevMatrix m;
    m.format = format;
    m.cols = parts.front()->ref.cols;
    for (const cpu::Matrix* p : parts) m.rows += p->ref.rows;
    const std::size_t n = static_cast<std::size_t>(m.rows) * m.cols;
    ALLTOOLS_ASSIGN_OR_RETURN(DeviceBuffer data, DeviceBuffer::allocate(n * dev_format_bytes(format)));
    m.data = data.get();
    float* scales = nullptr;
    if (format == DevFormat::kI8) {
      ALLTOOLS_ASSIGN_OR_RETURN(DeviceBuffer s, DeviceBuffer::allocate(sizeof(float) * m.rows));
      scales = s.as<float>();
      m.scales = scales;
      w_.storage.push_back(std::move(s));
    }
    int row = 0;
    for (const cpu::Matrix* p : parts) {
      const cpu::MatrixRef& r = p->ref;
      if (r.format == cpu::WeightFormat::kI8) {
        return make_error(ErrorCode::kInternal, "upload: int8 host matrix (weights must be loaded as stored)");
      }
      const std::size_t count = static_cast<std::size_t>(r.rows) * r.cols;
      const std::size_t bytes = count * host_bytes(r.format);
      if (bytes > staging_.bytes()) {
        staging_.reset();
        ALLTOOLS_ASSIGN_OR_RETURN(staging_, DeviceBuffer::allocate(bytes));
      }
      ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(staging_.get(), r.data, bytes, cudaMemcpyHostToDevice, stream_));
      const std::size_t offset = static_cast<std::size_t>(row) * m.cols;
      if (format == DevFormat::kI8) {
        ALLTOOLS_CUDA_TRY(launch_quantize_rows(staging_.get(), host_format(r.format), r.rows, r.cols,
                                               static_cast<std::int8_t*>(m.data) + offset, scales + row, stream_));
      } else {
        char* dst = static_cast<char*>(m.data) + offset * dev_format_bytes(format);
        ALLTOOLS_CUDA_TRY(launch_convert(staging_.get(), host_format(r.format), dst, format, count, stream_));
      }
      // The staging buffer is reused by the next part: wait until this one is consumed.
      ALLTOOLS_CUDA_TRY(cudaStreamSynchronize(stream_));
      row += r.rows;
    }
    w_.storage.push_back(std::move(data));
    return m;
  }

  Result<DevMatrix> matrix(const cpu::Matrix& one, DevFormat format) {
    const cpu::Matrix* parts[] = {&one};
    return matrix(parts, format);
  }

 private:
  DevWeights& w_;
  cudaStream_t stream_;
  DeviceBuffer staging_;
};

}  // namespace

Result<DevWeights> upload_weights(const ModelConfig& config, const std::string& source_dir, std::uint64_t seed,
                                  CpuModelOptions::WeightType type, cudaStream_t stream) {
  // Bind and shape-check every tensor with the CPU loader (zero-copy views of the mapped files, or synthetic
  // tensors generated on all cores), then convert on the device.
  cpu::ThreadPool pool(cpu::available_cpus());
  std::unique_ptr<cpu::TensorSource> source;
  if (source_dir.empty()) {
    source = std::make_unique<cpu::SyntheticSource>(config, seed, pool);
  } else {
    ALLTOOLS_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(source_dir));
    source = std::make_unique<cpu::CheckpointSource>(std::move(checkpoint));
  }
  ALLTOOLS_ASSIGN_OR_RETURN(cpu::ModelWeights host,
                            cpu::load_weights(config, *source, CpuModelOptions::WeightType::kAsStored, pool));

  DevWeights w;
  switch (type) {
    case CpuModelOptions::WeightType::kF32: w.format = DevFormat::kF32; break;
    case CpuModelOptions::WeightType::kBF16: w.format = DevFormat::kBF16; break;
    case CpuModelOptions::WeightType::kInt8: w.format = DevFormat::kI8; break;
    case CpuModelOptions::WeightType::kAsStored:
      w.format = host.layers.front().gate_up.ref.format == cpu::WeightFormat::kF32 ? DevFormat::kF32 : DevFormat::kBF16;
      break;
  }
  const DevFormat embedding_format = w.format == DevFormat::kF32 ? DevFormat::kF32 : DevFormat::kBF16;
  Uploader up(w, stream);
  ALLTOOLS_ASSIGN_OR_RETURN(w.embedding, up.matrix(host.embedding, embedding_format));
  for (const cpu::LayerWeights& hl : host.layers) {
    DevLayer l;
    std::vector<const cpu::Matrix*> qkv_parts;
    for (const cpu::Matrix& m : hl.qkv) qkv_parts.push_back(&m);
    ALLTOOLS_ASSIGN_OR_RETURN(l.qkv, up.matrix(qkv_parts, w.format));
    ALLTOOLS_ASSIGN_OR_RETURN(l.o, up.matrix(hl.o, w.format));
    ALLTOOLS_ASSIGN_OR_RETURN(l.gate_up, up.matrix(hl.gate_up, w.format));
    ALLTOOLS_ASSIGN_OR_RETURN(l.down, up.matrix(hl.down, w.format));
    ALLTOOLS_ASSIGN_OR_RETURN(l.qkv_bias, up.vector(hl.qkv_bias));
    ALLTOOLS_ASSIGN_OR_RETURN(l.input_norm, up.vector(hl.input_norm));
    ALLTOOLS_ASSIGN_OR_RETURN(l.post_attention_norm, up.vector(hl.post_attention_norm));
    if (config.arch == Architecture::kGlm4) {
      ALLTOOLS_ASSIGN_OR_RETURN(l.post_self_attn_norm, up.vector(hl.post_self_attn_norm));
      ALLTOOLS_ASSIGN_OR_RETURN(l.post_mlp_norm, up.vector(hl.post_mlp_norm));
    }
    w.bytes_per_token += l.qkv.bytes() + l.o.bytes() + l.gate_up.bytes() + l.down.bytes();
    w.total_bytes += l.qkv.bytes() + l.o.bytes() + l.gate_up.bytes() + l.down.bytes();
    w.layers.push_back(l);
  }
  ALLTOOLS_ASSIGN_OR_RETURN(w.final_norm, up.vector(host.final_norm));
  const bool tied = host.lm_head.ref.data == host.embedding.ref.data;
  if (tied && w.format == embedding_format) {
    w.lm_head = w.embedding;
  } else {
    ALLTOOLS_ASSIGN_OR_RETURN(w.lm_head, up.matrix(host.lm_head, w.format));
    w.total_bytes += w.lm_head.bytes();
  }
  w.total_bytes += w.embedding.bytes();
  w.bytes_per_token += w.lm_head.bytes() + w.embedding.bytes() / std::max(1, w.embedding.rows);
  ALLTOOLS_CUDA_TRY(cudaStreamSynchronize(stream));
  return w;
}

Result<std::unique_ptr<CudaTransformer>> CudaTransformer::create(ModelConfig config, DevWeights weights, int capacity,
                                                                 int max_chunk, bool use_graph, cudaStream_t stream) {
  std::unique_ptr<CudaTransformer> t(new CudaTransformer());
  const ModelConfig& c = config;
  if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0 || c.head_dim > 256 || c.rotary_dim > c.head_dim) {
    return make_error(ErrorCode::kUnsupported, "cuda: unsupported attention shape (heads " +
                                                   std::to_string(c.num_heads) + ", kv heads " +
                                                   std::to_string(c.num_kv_heads) + ", head_dim " +
                                                   std::to_string(c.head_dim) + ")");
  }
  t->stream_ = stream;
  t->use_graph_ = use_graph;
  t->capacity_ = capacity;
  t->max_chunk_ = std::max(1, std::min(max_chunk, capacity));
  t->act_bf16_ = weights.format != DevFormat::kF32;
  t->cache_bf16_ = t->act_bf16_;
  int device = 0, sms = 1;
  ALLTOOLS_CUDA_TRY(cudaGetDevice(&device));
  ALLTOOLS_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  t->decode_splits_ = std::clamp(2 * sms / c.num_kv_heads, 1, kMaxDecodeSplits);
  if (const char* env = std::getenv("ALLTOOLS_CUDA_ATTN_MIN_CHUNK")) {  // tuning: keys per split at least
    const int v = std::atoi(env);
    if (v >= 32 && v <= 4096 && v % 32 == 0) t->decode_min_chunk_ = v;
  }

  const std::size_t C = static_cast<std::size_t>(t->max_chunk_);
  const std::size_t H = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), F = c.intermediate_size, V = c.vocab_size;
  const std::size_t width = Q + 2 * KV;
  const std::size_t cache_elem = t->cache_bf16_ ? 2 : 4;
  const auto alloc = [](DeviceBuffer& b, std::size_t bytes) -> Status {
    ALLTOOLS_ASSIGN_OR_RETURN(b, DeviceBuffer::allocate(bytes));
    return ok_status();
  };
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->cache_, static_cast<std::size_t>(c.num_layers) * 2 * capacity * KV * cache_elem));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->x_, C * H * 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->h_, C * H * 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->qkv_, C * width * 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->attn_, C * Q * 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->o_, C * H * 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->gu_, C * 2 * F * 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->act_, C * F * 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->logits_, V * 4));
  const std::size_t scratch = std::max(attention_scratch_floats(1, c.num_heads, c.head_dim, t->decode_splits_),
                                       attention_scratch_floats(static_cast<int>(C), c.num_heads, c.head_dim, 1));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->scratch_, scratch * 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->tokens_, C * 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->token_, 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->pos_, 4));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->seen_, V));
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->rng_, 8));
  ALLTOOLS_CUDA_TRY(cudaMemset(t->seen_.get(), 0, V));
  ALLTOOLS_ASSIGN_OR_RETURN(t->host_io_, PinnedBuffer::allocate(64));

  // RoPE inverse frequencies exactly as the CPU backend uses them.
  std::vector<float> inv = cpu::rope_inv_freq(c);
  if (inv.empty()) inv.push_back(0.0f);  // rotary_dim 0: keep the buffer non-empty
  ALLTOOLS_RETURN_IF_ERROR(alloc(t->inv_freq_, inv.size() * 4));
  ALLTOOLS_CUDA_TRY(cudaMemcpy(t->inv_freq_.get(), inv.data(), inv.size() * 4, cudaMemcpyHostToDevice));

  cublasHandle_t handle = nullptr;
  ALLTOOLS_CUBLAS_TRY(cublasCreate(&handle));
  t->cublas_.reset(handle);
  ALLTOOLS_CUBLAS_TRY(cublasSetStream(handle, stream));
  ALLTOOLS_CUBLAS_TRY(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));  // no TF32 for the f32 path

  t->config_ = std::move(config);
  t->weights_ = std::move(weights);
  return t;
}

CudaTransformer::~CudaTransformer() {
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
}

void* CudaTransformer::k_cache(int layer) const {
  const std::size_t per = static_cast<std::size_t>(capacity_) * config_.kv_dim() * (cache_bf16_ ? 2 : 4);
  return static_cast<char*>(cache_.get()) + (2 * static_cast<std::size_t>(layer)) * per;
}
void* CudaTransformer::v_cache(int layer) const {
  const std::size_t per = static_cast<std::size_t>(capacity_) * config_.kv_dim() * (cache_bf16_ ? 2 : 4);
  return static_cast<char*>(cache_.get()) + (2 * static_cast<std::size_t>(layer) + 1) * per;
}

Status CudaTransformer::gemm(const DevMatrix& w, const void* x, int tokens, void* y, int ldy, bool accumulate,
                             bool y_bf16) {
  const void* a = w.data;
  cudaDataType_t type = w.format == DevFormat::kF32 ? CUDA_R_32F : CUDA_R_16BF;
  if (w.format == DevFormat::kI8) {
    const std::size_t need = static_cast<std::size_t>(w.rows) * w.cols * 2;
    if (dequant_.bytes() < need) {
      dequant_.reset();
      ALLTOOLS_ASSIGN_OR_RETURN(dequant_, DeviceBuffer::allocate(need));
    }
    ALLTOOLS_CUDA_TRY(launch_dequantize_rows(static_cast<const std::int8_t*>(w.data), w.scales, w.rows, w.cols,
                                             dequant_.get(), stream_));
    a = dequant_.get();
  }
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  // Row-major y[tokens, rows] = x[tokens, cols] W^T is column-major y^T = W x^T with W seen as [cols, rows].
  ALLTOOLS_CUBLAS_TRY(cublasGemmEx(cublas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, w.rows, tokens, w.cols, &alpha, a, type,
                                   w.cols, x, type, w.cols, &beta, y, y_bf16 ? CUDA_R_16BF : CUDA_R_32F, ldy,
                                   CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT));
  return ok_status();
}

Status CudaTransformer::forward(std::span<const TokenId> tokens, int start, Logits mode, float* host_all) {
  const int T = static_cast<int>(tokens.size());
  if (T < 1 || T > max_chunk_ || start < 0 || start + T > capacity_) {
    return make_error(ErrorCode::kOutOfRange, "cuda forward: bad chunk");
  }
  if (T == 1) {
    std::int32_t* io = host_io_.as<std::int32_t>();
    io[0] = tokens[0];
    io[1] = start;
    ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(token_.get(), &io[0], 4, cudaMemcpyHostToDevice, stream_));
    ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(pos_.get(), &io[1], 4, cudaMemcpyHostToDevice, stream_));
    if (!use_graph_ || !decode_warm_) {
      ALLTOOLS_RETURN_IF_ERROR(decode_step());  // the first step runs eagerly (kernel attributes get set)
      decode_warm_ = true;
    } else {
      if (!graph_exec_) {
        cudaGraph_t graph = nullptr;
        ALLTOOLS_CUDA_TRY(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
        const Status body = decode_step();
        const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
        ALLTOOLS_RETURN_IF_ERROR(body);
        ALLTOOLS_CUDA_TRY(end);
        graph_.reset(graph);
        cudaGraphExec_t exec = nullptr;
        ALLTOOLS_CUDA_TRY(cudaGraphInstantiate(&exec, graph, 0));
        graph_exec_.reset(exec);
      }
      ALLTOOLS_CUDA_TRY(cudaGraphLaunch(graph_exec_.get(), stream_));
    }
    if (mode == Logits::kAll && host_all != nullptr) {
      ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(host_all, logits_.get(), sizeof(float) * config_.vocab_size,
                                        cudaMemcpyDeviceToHost, stream_));
    }
  } else {
    ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(tokens_.get(), tokens.data(), sizeof(TokenId) * T, cudaMemcpyHostToDevice, stream_));
    ALLTOOLS_RETURN_IF_ERROR(prefill(T, start, mode, host_all));
  }
  ALLTOOLS_CUDA_TRY(cudaStreamSynchronize(stream_));
  return ok_status();
}

Status CudaTransformer::decode_step() {
  const PdlScope pdl(true);  // with ALLTOOLS_CUDA_PDL=1, kernels overlap their predecessors' tails (launch.cuh)
  const ModelConfig& c = config_;
  const bool glm4 = c.arch == Architecture::kGlm4;
  const float eps = static_cast<float>(c.rms_eps);
  float* x = x_.as<float>();
  const int* pos = pos_.as<int>();
  // x += W in: accumulated by the GEMV (glm), or through the post-norm (glm4: x += rmsnorm(W in) * post_norm).
  const auto residual = [&](const DevMatrix& m, const float* in, const float* post_norm) -> Status {
    GemvArgs g;
    g.w = m, g.x = in, g.y = glm4 ? o_.as<float>() : x;
    ALLTOOLS_CUDA_TRY(launch_gemv(GemvIn::kPlain, glm4 ? GemvOut::kStore : GemvOut::kAccumulate, g, stream_));
    if (glm4) ALLTOOLS_CUDA_TRY(launch_norm_add(x, o_.as<float>(), post_norm, c.hidden_size, eps, 1, stream_));
    return ok_status();
  };
  ALLTOOLS_CUDA_TRY(launch_embed(weights_.embedding, token_.as<std::int32_t>(), 1, x, stream_));
  for (int layer = 0; layer < c.num_layers; ++layer) {
    const DevLayer& w = weights_.layers[layer];
    // QKV projection with bias, RoPE and the cache write fused into its epilogue.
    GemvArgs g;
    g.w = w.qkv, g.x = x, g.norm = w.input_norm, g.eps = eps, g.bias = w.qkv_bias, g.y = qkv_.as<float>();
    g.rope.pos = pos, g.rope.inv_freq = inv_freq_.as<float>(), g.rope.head_dim = c.head_dim;
    g.rope.rotary_dim = c.rotary_dim, g.rope.q_dim = c.q_dim(), g.rope.kv_dim = c.kv_dim();
    g.rope.k_cache = k_cache(layer), g.rope.v_cache = v_cache(layer), g.rope.cache_bf16 = cache_bf16_;
    ALLTOOLS_CUDA_TRY(launch_gemv(GemvIn::kRmsNorm, GemvOut::kQkvRope, g, stream_));
    AttentionArgs at;
    at.qkv = qkv_.as<float>(), at.width = c.q_dim() + 2 * c.kv_dim();
    at.k_cache = k_cache(layer), at.v_cache = v_cache(layer), at.cache_bf16 = cache_bf16_;
    at.tokens = 1, at.start_ptr = pos, at.num_heads = c.num_heads, at.num_kv_heads = c.num_kv_heads;
    at.head_dim = c.head_dim, at.out = attn_.get(), at.out_bf16 = false, at.scratch = scratch_.as<float>();
    at.splits = decode_splits_, at.min_chunk = decode_min_chunk_;
    ALLTOOLS_CUDA_TRY(launch_attention(at, stream_));
    ALLTOOLS_RETURN_IF_ERROR(residual(w.o, attn_.as<float>(), w.post_self_attn_norm));
    GemvArgs gu;
    gu.w = w.gate_up, gu.x = x, gu.norm = w.post_attention_norm, gu.eps = eps, gu.y = act_.as<float>();
    ALLTOOLS_CUDA_TRY(launch_gemv(GemvIn::kRmsNorm, GemvOut::kSwiGlu, gu, stream_));
    ALLTOOLS_RETURN_IF_ERROR(residual(w.down, act_.as<float>(), w.post_mlp_norm));
  }
  GemvArgs gl;
  gl.w = weights_.lm_head, gl.x = x, gl.norm = weights_.final_norm, gl.eps = eps, gl.y = logits_.as<float>();
  ALLTOOLS_CUDA_TRY(launch_gemv(GemvIn::kRmsNorm, GemvOut::kStore, gl, stream_));
  return ok_status();
}

Status CudaTransformer::prefill(int T, int start, Logits mode, float* host_all) {
  const ModelConfig& c = config_;
  const bool glm4 = c.arch == Architecture::kGlm4;
  const float eps = static_cast<float>(c.rms_eps);
  const int H = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), F = c.intermediate_size, width = Q + 2 * KV;
  float* x = x_.as<float>();
  const bool flash = act_bf16_ && cache_bf16_ && flash_attention_supported(c.head_dim);
  ALLTOOLS_CUDA_TRY(launch_embed(weights_.embedding, tokens_.as<std::int32_t>(), T, x, stream_));
  for (int layer = 0; layer < c.num_layers; ++layer) {
    const DevLayer& w = weights_.layers[layer];
    ALLTOOLS_CUDA_TRY(launch_rms_norm(x, w.input_norm, H, eps, T, h_.get(), act_bf16_, stream_));
    ALLTOOLS_RETURN_IF_ERROR(gemm(w.qkv, h_.get(), T, qkv_.as<float>(), width, false));
    RopeCacheArgs r;
    r.qkv = qkv_.as<float>(), r.bias = w.qkv_bias, r.inv_freq = inv_freq_.as<float>(), r.tokens = T, r.start = start;
    r.num_heads = c.num_heads, r.num_kv_heads = c.num_kv_heads, r.head_dim = c.head_dim, r.rotary_dim = c.rotary_dim;
    r.k_cache = k_cache(layer), r.v_cache = v_cache(layer), r.cache_bf16 = cache_bf16_;
    ALLTOOLS_CUDA_TRY(launch_rope_cache(r, stream_));
    AttentionArgs at;
    at.qkv = qkv_.as<float>(), at.width = width, at.k_cache = k_cache(layer), at.v_cache = v_cache(layer);
    at.cache_bf16 = cache_bf16_, at.tokens = T, at.start = start, at.num_heads = c.num_heads;
    at.num_kv_heads = c.num_kv_heads, at.head_dim = c.head_dim, at.out = attn_.get(), at.out_bf16 = act_bf16_;
    at.scratch = scratch_.as<float>(), at.splits = 1;
    ALLTOOLS_CUDA_TRY(flash ? launch_flash_attention(at, stream_) : launch_attention(at, stream_));
    if (glm4) {
      ALLTOOLS_RETURN_IF_ERROR(gemm(w.o, attn_.get(), T, o_.as<float>(), H, false));
      ALLTOOLS_CUDA_TRY(launch_norm_add(x, o_.as<float>(), w.post_self_attn_norm, H, eps, T, stream_));
    } else {
      ALLTOOLS_RETURN_IF_ERROR(gemm(w.o, attn_.get(), T, x, H, true));
    }
    ALLTOOLS_CUDA_TRY(launch_rms_norm(x, w.post_attention_norm, H, eps, T, h_.get(), act_bf16_, stream_));
    // bf16 models keep gate/up in bf16 (as HF does): half the bytes through the SwiGLU pass.
    ALLTOOLS_RETURN_IF_ERROR(gemm(w.gate_up, h_.get(), T, gu_.get(), 2 * F, false, act_bf16_));
    ALLTOOLS_CUDA_TRY(launch_swiglu(gu_.get(), act_bf16_, F, T, act_.get(), act_bf16_, stream_));
    if (glm4) {
      ALLTOOLS_RETURN_IF_ERROR(gemm(w.down, act_.get(), T, o_.as<float>(), H, false));
      ALLTOOLS_CUDA_TRY(launch_norm_add(x, o_.as<float>(), w.post_mlp_norm, H, eps, T, stream_));
    } else {
      ALLTOOLS_RETURN_IF_ERROR(gemm(w.down, act_.get(), T, x, H, true));
    }
  }
  if (mode == Logits::kNone) return ok_status();
  const std::size_t V = c.vocab_size;
  if (mode == Logits::kLast) {
    GemvArgs gl;
    gl.w = weights_.lm_head, gl.x = x + static_cast<std::size_t>(T - 1) * H, gl.norm = weights_.final_norm;
    gl.eps = eps, gl.y = logits_.as<float>();
    ALLTOOLS_CUDA_TRY(launch_gemv(GemvIn::kRmsNorm, GemvOut::kStore, gl, stream_));
    return ok_status();
  }
  // kAll: every row's logits (checks on short prompts), then the last row stays on the device for sampling.
  if (all_logits_.bytes() < static_cast<std::size_t>(T) * V * 4) {
    all_logits_.reset();
    ALLTOOLS_ASSIGN_OR_RETURN(all_logits_, DeviceBuffer::allocate(static_cast<std::size_t>(T) * V * 4));
  }
  ALLTOOLS_CUDA_TRY(launch_rms_norm(x, weights_.final_norm, H, eps, T, h_.get(), act_bf16_, stream_));
  ALLTOOLS_RETURN_IF_ERROR(gemm(weights_.lm_head, h_.get(), T, all_logits_.as<float>(), static_cast<int>(V), false));
  ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(logits_.get(), all_logits_.as<float>() + (T - 1) * V, V * 4,
                                    cudaMemcpyDeviceToDevice, stream_));
  if (host_all != nullptr) {
    ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(host_all, all_logits_.get(), static_cast<std::size_t>(T) * V * 4,
                                      cudaMemcpyDeviceToHost, stream_));
  }
  return ok_status();
}

Result<TokenId> CudaTransformer::sample(const SamplingParams& params, std::span<const TokenId> context, bool fresh_seen,
                                        std::uint64_t* rng_state) {
  const bool penalty = params.repetition_penalty != 1.0f && params.repetition_penalty > 0.0f;
  if (penalty && fresh_seen) {
    ALLTOOLS_CUDA_TRY(cudaMemsetAsync(seen_.get(), 0, config_.vocab_size, stream_));
    for (std::size_t off = 0; off < context.size(); off += static_cast<std::size_t>(max_chunk_)) {
      const int n = static_cast<int>(std::min<std::size_t>(max_chunk_, context.size() - off));
      ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(tokens_.get(), context.data() + off, 4 * n, cudaMemcpyHostToDevice, stream_));
      ALLTOOLS_CUDA_TRY(launch_mark_seen(tokens_.as<std::int32_t>(), n, seen_.as<std::uint8_t>(), stream_));
    }
  }
  std::uint64_t* io64 = reinterpret_cast<std::uint64_t*>(host_io_.as<char>() + 16);
  if (params.temperature > 0.0f) {
    io64[0] = *rng_state;
    ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(rng_.get(), io64, 8, cudaMemcpyHostToDevice, stream_));
  }
  SampleArgs s;
  s.logits = logits_.as<float>(), s.vocab = config_.vocab_size;
  s.seen = penalty ? seen_.as<std::uint8_t>() : nullptr;
  s.repetition_penalty = params.repetition_penalty, s.temperature = params.temperature;
  s.top_k = params.top_k, s.top_p = params.top_p, s.rng_state = rng_.as<std::uint64_t>();
  s.token_out = token_.as<std::int32_t>(), s.seen_out = penalty ? seen_.as<std::uint8_t>() : nullptr;
  ALLTOOLS_CUDA_TRY(launch_sample(s, stream_));
  std::int32_t* io = host_io_.as<std::int32_t>();
  ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(&io[0], token_.get(), 4, cudaMemcpyDeviceToHost, stream_));
  if (params.temperature > 0.0f) {
    ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(io64, rng_.get(), 8, cudaMemcpyDeviceToHost, stream_));
  }
  ALLTOOLS_CUDA_TRY(cudaStreamSynchronize(stream_));
  if (params.temperature > 0.0f) *rng_state = io64[0];
  return static_cast<TokenId>(io[0]);
}

Status CudaTransformer::write_logits(std::span<const float> logits) {
  if (logits.size() != static_cast<std::size_t>(config_.vocab_size)) {
    return make_error(ErrorCode::kInvalidArgument, "write_logits: expected " + std::to_string(config_.vocab_size) +
                                                       " values, got " + std::to_string(logits.size()));
  }
  ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(logits_.get(), logits.data(), logits.size() * 4, cudaMemcpyHostToDevice, stream_));
  ALLTOOLS_CUDA_TRY(cudaStreamSynchronize(stream_));
  return ok_status();
}

Status CudaTransformer::copy_logits(std::vector<float>& out) {
  out.resize(static_cast<std::size_t>(config_.vocab_size));
  ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(out.data(), logits_.get(), out.size() * 4, cudaMemcpyDeviceToHost, stream_));
  ALLTOOLS_CUDA_TRY(cudaStreamSynchronize(stream_));
  return ok_status();
}

}  // namespace alltools::model::cuda
