#include "model/cuda/cuda_model.h"

#include <algorithm>
#include <filesystem>

#include "model/batched_model.h"
#include "model/cuda/cuda_transformer.h"
#include "model/cuda/device_buffer.h"

namespace alltools::model {
namespace {

using cuda::CudaTransformer;

constexpr int kDefaultMaxContext = 32768;
constexpr int kDefaultPrefillChunk = 4096;

// The CUDA backend behind BatchedModel's bookkeeping: logits stay on the device, sampling runs there too.
class CudaModelImpl final : public BatchedModel {
 public:
  CudaModelImpl(std::unique_ptr<CudaTransformer> tf, ModelInfo info, std::string kernel, std::string_view compute,
                cudaStream_t stream)
      : BatchedModel(std::move(info)),
        tf_(std::move(tf)),
        kernel_(std::move(kernel)),
        compute_(compute),
        stream_(stream) {}
  ~CudaModelImpl() override {
    tf_.reset();
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  std::uint64_t weight_bytes_per_token() const override { return tf_->weights().bytes_per_token; }
  std::uint64_t kv_bytes_per_position() const override {
    const ModelConfig& c = tf_->config();
    return static_cast<std::uint64_t>(c.num_layers) * 2 * c.kv_dim() * (tf_->cache_bf16() ? 2 : 4);
  }
  std::uint64_t weight_bytes() const override { return tf_->weights().total_bytes; }
  std::string_view kernel_name() const override { return kernel_; }
  std::string_view compute_type() const override { return compute_; }
  int threads() const override { return 1; }

 protected:
  Status forward_chunk(std::span<const TokenId> tokens, int start, Logits mode, float* all_rows) override {
    const auto m = mode == Logits::kAll    ? CudaTransformer::Logits::kAll
                   : mode == Logits::kLast ? CudaTransformer::Logits::kLast
                                           : CudaTransformer::Logits::kNone;
    return tf_->forward(tokens, start, m, all_rows);
  }
  int max_chunk() const override { return tf_->max_chunk(); }
  Result<std::vector<float>> read_logits() override {
    std::vector<float> out;
    ALLTOOLS_RETURN_IF_ERROR(tf_->copy_logits(out));
    return out;
  }
  Status write_logits(std::span<const float> logits) override { return tf_->write_logits(logits); }
  Result<TokenId> sample_next(const SamplingParams& params, std::span<const TokenId> context, int step) override {
    if (step == 0) rng_ = params.seed;
    return tf_->sample(params, context, step == 0, &rng_);
  }

 private:
  std::unique_ptr<CudaTransformer> tf_;
  std::string kernel_;
  std::string_view compute_;  // "f32" or "bf16" (a literal)
  cudaStream_t stream_ = nullptr;
  std::uint64_t rng_ = 0;
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
  const std::string_view compute = format == cuda::DevFormat::kF32 ? "f32" : "bf16";
  return std::unique_ptr<LocalModel>(new CudaModelImpl(std::move(tf), std::move(info), kernel, compute, stream));
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
