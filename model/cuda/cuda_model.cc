#include "model/cuda/cuda_model.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "model/cuda/cuda_transformer.h"
#include "model/cuda/device_buffer.h"

namespace alltools::model {
namespace {

using cuda::CudaTransformer;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr int kDefaultMaxContext = 32768;
constexpr int kDefaultPrefillChunk = 4096;

// Same bookkeeping as the CPU model (model/cpu/cpu_model.cc): history_ holds every token in the cache,
// computed_ those whose keys and values are on the device; a sampled token is forwarded with the next step.
class CudaModelImpl final : public LocalModel {
 public:
  CudaModelImpl(std::unique_ptr<CudaTransformer> tf, ModelInfo info, std::string kernel, cudaStream_t stream)
      : tf_(std::move(tf)), info_(std::move(info)), kernel_(std::move(kernel)), stream_(stream) {}
  ~CudaModelImpl() override {
    tf_.reset();
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  const ModelInfo& info() const override { return info_; }
  int position() const override { return static_cast<int>(history_.size()); }

  Status append(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    const auto t0 = Clock::now();
    ALLTOOLS_RETURN_IF_ERROR(push(tokens));
    const int old = position() - static_cast<int>(tokens.size());
    const std::int64_t before = forwarded_;
    Status s = run_pending(CudaTransformer::Logits::kLast, nullptr, cancel);
    if (!s.ok()) {
      undo(old);
      return s;
    }
    timings_ = Timings{static_cast<int>(forwarded_ - before), seconds_since(t0), 0, 0.0};
    return ok_status();
  }

  Result<std::vector<float>> append_with_logits(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    const auto t0 = Clock::now();
    ALLTOOLS_RETURN_IF_ERROR(run_pending(CudaTransformer::Logits::kNone, nullptr, cancel));
    ALLTOOLS_RETURN_IF_ERROR(push(tokens));
    const int old = position() - static_cast<int>(tokens.size());
    std::vector<float> all(tokens.size() * static_cast<std::size_t>(info_.vocab_size));
    Status s = run_pending(CudaTransformer::Logits::kAll, &all, cancel);
    if (!s.ok()) {
      undo(old);
      return s.error();
    }
    timings_ = Timings{static_cast<int>(tokens.size()), seconds_since(t0), 0, 0.0};
    return all;
  }

  Status rewind(int length) override {
    if (length < 0 || length > position()) {
      return make_error(ErrorCode::kOutOfRange, "rewind to " + std::to_string(length) + " tokens: the cache holds " +
                                                    std::to_string(position()));
    }
    history_.resize(static_cast<std::size_t>(length));
    if (computed_ > length) {
      computed_ = length;
      logits_valid_ = false;
    }
    return ok_status();
  }

  Result<std::vector<float>> last_logits() override {
    ALLTOOLS_RETURN_IF_ERROR(ensure_logits(nullptr));
    std::vector<float> out;
    ALLTOOLS_RETURN_IF_ERROR(tf_->copy_logits(out));
    return out;
  }

  Result<GenerateResult> generate(const GenerateRequest& request, const TokenCallback& on_token,
                                  const CancelToken* cancel) override {
    GenerateResult result;
    const auto t_prefill = Clock::now();
    const std::int64_t before = forwarded_;
    ALLTOOLS_RETURN_IF_ERROR(ensure_logits(cancel));
    result.timings.prefill_tokens = static_cast<int>(forwarded_ - before);
    result.timings.prefill_seconds = seconds_since(t_prefill);
    const auto t_decode = Clock::now();
    std::uint64_t rng = request.sampling.seed;
    result.finish = FinishReason::kMaxTokens;
    for (int i = 0; i < request.max_new_tokens; ++i) {
      if (cancel != nullptr && cancel->cancelled()) {
        result.finish = FinishReason::kCancelled;
        break;
      }
      if (position() >= info_.max_context) {
        result.finish = FinishReason::kContextFull;
        break;
      }
      ALLTOOLS_ASSIGN_OR_RETURN(const TokenId token, tf_->sample(request.sampling, history_, i == 0, &rng));
      history_.push_back(token);
      logits_valid_ = false;
      result.tokens.push_back(token);
      if (on_token && !on_token(token)) {
        result.finish = FinishReason::kCancelled;
        break;
      }
      if (std::find(request.stop_ids.begin(), request.stop_ids.end(), token) != request.stop_ids.end()) {
        result.finish = FinishReason::kStopToken;
        break;
      }
      if (i + 1 == request.max_new_tokens) break;
      ALLTOOLS_RETURN_IF_ERROR(run_pending(CudaTransformer::Logits::kLast, nullptr, nullptr));
    }
    result.timings.decode_tokens = static_cast<int>(result.tokens.size());
    result.timings.decode_seconds = seconds_since(t_decode);
    timings_ = result.timings;
    return result;
  }

  const Timings& last_timings() const override { return timings_; }
  std::uint64_t weight_bytes_per_token() const override { return tf_->weights().bytes_per_token; }
  std::uint64_t kv_bytes_per_position() const override {
    const ModelConfig& c = tf_->config();
    return static_cast<std::uint64_t>(c.num_layers) * 2 * c.kv_dim() * (tf_->cache_bf16() ? 2 : 4);
  }
  std::uint64_t weight_bytes() const override { return tf_->weights().total_bytes; }
  std::string_view kernel_name() const override { return kernel_; }
  int threads() const override { return 1; }

 private:
  Status push(std::span<const TokenId> tokens) {
    if (tokens.size() > static_cast<std::size_t>(info_.max_context - position())) {
      return make_error(ErrorCode::kOutOfRange,
                        "context too long: " + std::to_string(position()) + " + " + std::to_string(tokens.size()) +
                            " tokens exceed the model's maximum of " + std::to_string(info_.max_context));
    }
    for (TokenId t : tokens) {
      if (t < 0 || t >= info_.vocab_size) {
        return make_error(ErrorCode::kInvalidArgument, "token id " + std::to_string(t) +
                                                           " is outside the vocabulary [0, " +
                                                           std::to_string(info_.vocab_size) + ")");
      }
    }
    history_.insert(history_.end(), tokens.begin(), tokens.end());
    return ok_status();
  }

  void undo(int length) {
    history_.resize(static_cast<std::size_t>(length));
    if (computed_ > length) {
      computed_ = length;
      logits_valid_ = false;
    }
  }

  Status ensure_logits(const CancelToken* cancel) {
    if (history_.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "the cache is empty: append at least one token first");
    }
    if (computed_ == position() && logits_valid_) return ok_status();
    if (computed_ == position()) --computed_;  // stale after a rewind: recompute the last position
    return run_pending(CudaTransformer::Logits::kLast, nullptr, cancel);
  }

  Status run_pending(CudaTransformer::Logits mode, std::vector<float>* all, const CancelToken* cancel) {
    const int end = position();
    const int base = computed_;
    const std::size_t vocab = static_cast<std::size_t>(info_.vocab_size);
    while (computed_ < end) {
      if (cancel != nullptr && cancel->cancelled()) return make_error(ErrorCode::kCancelled, "append cancelled");
      const int n = std::min(tf_->max_chunk(), end - computed_);
      const bool last_chunk = computed_ + n == end;
      auto m = CudaTransformer::Logits::kNone;
      float* out = nullptr;
      if (mode == CudaTransformer::Logits::kAll) {
        m = CudaTransformer::Logits::kAll;
        out = all->data() + static_cast<std::size_t>(computed_ - base) * vocab;
      } else if (mode == CudaTransformer::Logits::kLast && last_chunk) {
        m = CudaTransformer::Logits::kLast;
      }
      ALLTOOLS_RETURN_IF_ERROR(tf_->forward(std::span<const TokenId>(history_).subspan(computed_, n), computed_, m, out));
      computed_ += n;
      forwarded_ += n;
      logits_valid_ = false;
    }
    if (mode != CudaTransformer::Logits::kNone && end > base) logits_valid_ = true;
    return ok_status();
  }

  std::unique_ptr<CudaTransformer> tf_;
  ModelInfo info_;
  std::string kernel_;
  cudaStream_t stream_ = nullptr;
  std::vector<TokenId> history_;
  int computed_ = 0;
  std::int64_t forwarded_ = 0;
  bool logits_valid_ = false;
  Timings timings_;
};

Status select_device(int device) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    return make_error(ErrorCode::kUnavailable, std::string("no CUDA device: ") +
                                                   (e != cudaSuccess ? cudaGetErrorString(e) : "none found"));
  }
  if (device < 0 || device >= count) {
    return make_error(ErrorCode::kInvalidArgument,
                      "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " found)");
  }
  ALLTOOLS_CUDA_TRY(cudaSetDevice(device));
  return ok_status();
}

Result<std::unique_ptr<LocalModel>> build(const ModelConfig& config, const std::string& source_dir, std::uint64_t seed,
                                          const std::string& name, const CudaModelOptions& options) {
  ALLTOOLS_RETURN_IF_ERROR(select_device(options.device));
  if (options.max_context < 0) return make_error(ErrorCode::kInvalidArgument, "max_context must be >= 0");
  if (options.max_context > config.max_context) {
    return make_error(ErrorCode::kOutOfRange, "max_context " + std::to_string(options.max_context) +
                                                  " exceeds the model's maximum of " +
                                                  std::to_string(config.max_context));
  }
  const int capacity = options.max_context > 0 ? options.max_context : std::min(config.max_context, kDefaultMaxContext);
  cudaStream_t stream = nullptr;
  ALLTOOLS_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  // The stream is owned by the model once it exists; until then, by this guard.
  struct StreamGuard {
    cudaStream_t s;
    ~StreamGuard() {
      if (s != nullptr) cudaStreamDestroy(s);
    }
  } guard{stream};
  ALLTOOLS_ASSIGN_OR_RETURN(cuda::DevWeights weights,
                            cuda::upload_weights(config, source_dir, seed, options.weights, stream));
  const cuda::DevFormat format = weights.format;
  const int chunk = options.max_prefill_chunk > 0 ? options.max_prefill_chunk : kDefaultPrefillChunk;
  ALLTOOLS_ASSIGN_OR_RETURN(auto tf, CudaTransformer::create(config, std::move(weights), capacity, chunk,
                                                             options.use_graph, stream));
  cudaDeviceProp prop{};
  ALLTOOLS_CUDA_TRY(cudaGetDeviceProperties(&prop, options.device));
  ModelInfo info;
  info.name = name;
  info.architecture = std::string(architecture_name(config.arch));
  info.vocab_size = config.vocab_size;
  info.max_context = capacity;
  const std::string kernel = std::string("cuda ") + prop.name + " sm_" + std::to_string(prop.major) +
                             std::to_string(prop.minor) + " " + cuda::dev_format_name(format);
  guard.s = nullptr;
  return std::unique_ptr<LocalModel>(new CudaModelImpl(std::move(tf), std::move(info), kernel, stream));
}

}  // namespace

Status cuda_available() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return make_error(ErrorCode::kUnavailable, std::string("no CUDA device: ") + cudaGetErrorString(e));
  if (count == 0) return make_error(ErrorCode::kUnavailable, "no CUDA device found");
  return ok_status();
}

Result<std::unique_ptr<LocalModel>> open_cuda_model(const std::string& model_dir, const CudaModelOptions& options) {
  ALLTOOLS_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(model_dir));
  std::filesystem::path dir_path = std::filesystem::path(model_dir).lexically_normal();
  if (!dir_path.has_filename()) dir_path = dir_path.parent_path();
  std::string name = dir_path.filename().string();
  if (name.empty() || name == "." || name == "..") name = model_dir;
  return build(config, model_dir, 0, name, options);
}

Result<std::unique_ptr<LocalModel>> open_synthetic_cuda_model(const SyntheticSpec& spec, const CudaModelOptions& options) {
  return build(synthetic_config(spec), "", spec.seed, "synthetic-" + spec.preset, options);
}

Result<CudaDeviceReport> cuda_device_report(int device, std::uint64_t copy_bytes) {
  ALLTOOLS_RETURN_IF_ERROR(select_device(device));
  CudaDeviceReport r;
  cudaDeviceProp prop{};
  ALLTOOLS_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
  r.name = prop.name;
  r.sm_count = prop.multiProcessorCount;
  std::size_t free_bytes = 0, total = 0;
  ALLTOOLS_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total));
  r.memory_used = total - free_bytes;
  r.memory_total = total;
  if (copy_bytes == 0) return r;
  ALLTOOLS_ASSIGN_OR_RETURN(cuda::DeviceBuffer a, cuda::DeviceBuffer::allocate(copy_bytes));
  ALLTOOLS_ASSIGN_OR_RETURN(cuda::DeviceBuffer b, cuda::DeviceBuffer::allocate(copy_bytes));
  ALLTOOLS_CUDA_TRY(cudaMemset(a.get(), 1, copy_bytes));
  cudaEvent_t e0 = nullptr, e1 = nullptr;
  ALLTOOLS_CUDA_TRY(cudaEventCreate(&e0));
  std::unique_ptr<CUevent_st, cuda::EventDeleter> g0(e0);
  ALLTOOLS_CUDA_TRY(cudaEventCreate(&e1));
  std::unique_ptr<CUevent_st, cuda::EventDeleter> g1(e1);
  std::vector<float> ms;
  for (int i = 0; i < 23; ++i) {
    ALLTOOLS_CUDA_TRY(cudaEventRecord(e0));
    ALLTOOLS_CUDA_TRY(cudaMemcpyAsync(b.get(), a.get(), copy_bytes, cudaMemcpyDeviceToDevice));
    ALLTOOLS_CUDA_TRY(cudaEventRecord(e1));
    ALLTOOLS_CUDA_TRY(cudaEventSynchronize(e1));
    float t = 0.0f;
    ALLTOOLS_CUDA_TRY(cudaEventElapsedTime(&t, e0, e1));
    if (i >= 3) ms.push_back(t);  // three warm-ups
  }
  std::sort(ms.begin(), ms.end());
  r.copy_bandwidth_gb_s = 2.0 * static_cast<double>(copy_bytes) / (ms[ms.size() / 2] * 1e-3) / 1e9;
  return r;
}

}  // namespace alltools::model
