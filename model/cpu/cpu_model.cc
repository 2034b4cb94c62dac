#include "model/cpu/cpu_model.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>

#include "model/cpu/sampler.h"
#include "model/cpu/transformer.h"
#include "model/loader/model_config.h"

namespace alltools::model {
namespace {

using cpu::Transformer;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr int kReleaseCacheAfterRewind = 1024;  // positions dropped by a rewind before pages go back to the OS

class CpuModelImpl final : public CpuModel {
 public:
  CpuModelImpl(std::unique_ptr<Transformer> tf, ModelInfo info) : tf_(std::move(tf)), info_(std::move(info)) {
    logits_.resize(static_cast<std::size_t>(info_.vocab_size));
  }

  const ModelInfo& info() const override { return info_; }
  int position() const override { return static_cast<int>(history_.size()); }

  Status append(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    const auto t0 = Clock::now();
    ALLTOOLS_RETURN_IF_ERROR(push(tokens));
    const int old = position() - static_cast<int>(tokens.size());
    const std::int64_t before = forwarded_;
    Status s = run_pending(Transformer::Logits::kLast, nullptr, cancel);
    if (!s.ok()) {
      undo(old);
      return s;
    }
    timings_ = Timings{static_cast<int>(forwarded_ - before), seconds_since(t0), 0, 0.0};
    return ok_status();
  }

  Result<std::vector<float>> append_with_logits(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    const auto t0 = Clock::now();
    ALLTOOLS_RETURN_IF_ERROR(run_pending(Transformer::Logits::kNone, nullptr, cancel));
    ALLTOOLS_RETURN_IF_ERROR(push(tokens));
    const int old = position() - static_cast<int>(tokens.size());
    std::vector<float> all(tokens.size() * static_cast<std::size_t>(info_.vocab_size));
    Status s = run_pending(Transformer::Logits::kAll, &all, cancel);
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
    const int dropped = computed_ - length;
    history_.resize(static_cast<std::size_t>(length));
    if (computed_ > length) {
      computed_ = length;
      logits_valid_ = false;
    }
    if (dropped >= kReleaseCacheAfterRewind) tf_->cache().release_after(length);
    return ok_status();
  }

  Result<std::vector<float>> last_logits() override {
    ALLTOOLS_RETURN_IF_ERROR(ensure_logits(nullptr));
    return logits_;
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
    cpu::Sampler sampler(request.sampling);
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
      const TokenId token = sampler.sample(logits_, history_);
      history_.push_back(token);  // kept in the cache: its forward pass runs with the next step or append
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
      ALLTOOLS_RETURN_IF_ERROR(run_pending(Transformer::Logits::kLast, nullptr, nullptr));
    }
    result.timings.decode_tokens = static_cast<int>(result.tokens.size());
    result.timings.decode_seconds = seconds_since(t_decode);
    timings_ = result.timings;
    return result;
  }

  const Timings& last_timings() const override { return timings_; }
  std::uint64_t weight_bytes_per_token() const override { return tf_->weights().matrix_bytes_per_token(); }
  std::uint64_t kv_bytes_per_position() const override {
    const ModelConfig& c = tf_->config();
    return static_cast<std::uint64_t>(c.num_layers) * 2 * c.kv_dim() * sizeof(float);
  }
  std::uint64_t weight_bytes() const override { return tf_->weights().total_bytes(); }
  std::string_view kernel_name() const override { return tf_->kernels().name; }
  int threads() const override { return tf_->threads(); }

 private:
  // Validates and appends to the history (not yet computed). Errors leave everything unchanged.
  Status push(std::span<const TokenId> tokens) {
    if (tokens.size() > static_cast<std::size_t>(info_.max_context - position())) {
      return make_error(ErrorCode::kOutOfRange,
                        "context too long: " + std::to_string(position()) + " + " + std::to_string(tokens.size()) +
                            " tokens exceed the model's maximum of " + std::to_string(info_.max_context));
    }
    for (TokenId t : tokens) {
      if (t < 0 || t >= info_.vocab_size) {
        return make_error(ErrorCode::kInvalidArgument, "token id " + std::to_string(t) + " is outside the vocabulary [0, " +
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

  // Makes logits_ hold the logits after the last history token.
  Status ensure_logits(const CancelToken* cancel) {
    if (history_.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "the cache is empty: append at least one token first");
    }
    if (computed_ == position() && logits_valid_) return ok_status();
    if (computed_ == position()) --computed_;  // logits went stale (rewind): recompute the last position
    return run_pending(Transformer::Logits::kLast, nullptr, cancel);
  }

  // Forwards history_[computed_, end) in chunks. kLast leaves the last token's logits in logits_;
  // kAll also writes every row into *all (rows for the tokens run, in order).
  Status run_pending(Transformer::Logits mode, std::vector<float>* all, const CancelToken* cancel) {
    const int end = position();
    const int base = computed_;
    const std::size_t vocab = static_cast<std::size_t>(info_.vocab_size);
    while (computed_ < end) {
      if (cancel != nullptr && cancel->cancelled()) return make_error(ErrorCode::kCancelled, "append cancelled");
      const int n = std::min(cpu::kMaxChunkTokens, end - computed_);
      const bool last_chunk = computed_ + n == end;
      auto m = Transformer::Logits::kNone;
      float* out = logits_.data();
      if (mode == Transformer::Logits::kAll) {
        m = Transformer::Logits::kAll;
        out = all->data() + static_cast<std::size_t>(computed_ - base) * vocab;
      } else if (mode == Transformer::Logits::kLast && last_chunk) {
        m = Transformer::Logits::kLast;
      }
      tf_->forward(std::span<const TokenId>(history_).subspan(computed_, n), computed_, m, out);
      computed_ += n;
      forwarded_ += n;
      logits_valid_ = false;
    }
    if (mode == Transformer::Logits::kAll && end > base) {
      std::copy_n(all->data() + static_cast<std::size_t>(end - base - 1) * vocab, vocab, logits_.begin());
      logits_valid_ = true;
    } else if (mode == Transformer::Logits::kLast && end > base) {
      logits_valid_ = true;
    }
    return ok_status();
  }

  std::unique_ptr<Transformer> tf_;
  ModelInfo info_;
  std::vector<TokenId> history_;  // every token in the cache, including ones not yet forwarded
  int computed_ = 0;              // tokens whose keys/values are in the KV cache
  std::int64_t forwarded_ = 0;    // tokens run through the model since load (for timings)
  std::vector<float> logits_;     // after token computed_ - 1, when logits_valid_
  bool logits_valid_ = false;
  Timings timings_;
};

using SourceFactory = std::function<std::unique_ptr<cpu::TensorSource>(cpu::ThreadPool&)>;

Result<std::unique_ptr<CpuModel>> build(const ModelConfig& config, const SourceFactory& make_source,
                                        const std::string& name, const CpuModelOptions& options) {
  int capacity = config.max_context;
  if (options.max_context < 0) {
    return make_error(ErrorCode::kInvalidArgument, "max_context must be >= 0");
  }
  if (options.max_context > 0) {
    if (options.max_context > config.max_context) {
      return make_error(ErrorCode::kOutOfRange, "max_context " + std::to_string(options.max_context) +
                                                    " exceeds the model's maximum of " +
                                                    std::to_string(config.max_context));
    }
    capacity = options.max_context;
  }
  const int threads = options.threads > 0 ? options.threads : cpu::available_cpus();
  auto pool = std::make_unique<cpu::ThreadPool>(threads);
  std::unique_ptr<cpu::TensorSource> source = make_source(*pool);
  ALLTOOLS_ASSIGN_OR_RETURN(cpu::ModelWeights weights, cpu::load_weights(config, *source, options.weights, *pool));
  source.reset();  // storage not referenced by the weights (converted or quantized tensors) goes now
  ALLTOOLS_ASSIGN_OR_RETURN(cpu::KvCache cache, cpu::KvCache::create(config.num_layers, capacity, config.kv_dim()));
  ModelInfo info;
  info.name = name;
  info.architecture = std::string(architecture_name(config.arch));
  info.vocab_size = config.vocab_size;
  info.max_context = capacity;
  auto tf = std::make_unique<Transformer>(config, std::move(weights), std::move(cache), std::move(pool));
  return std::unique_ptr<CpuModel>(new CpuModelImpl(std::move(tf), std::move(info)));
}

}  // namespace

ModelConfig synthetic_config(const SyntheticSpec& spec) {
  ModelConfig c;
  c.arch = Architecture::kGlm4;
  if (spec.preset == "tiny") {
    c.vocab_size = 1024, c.hidden_size = 128, c.intermediate_size = 352, c.num_layers = 2;
    c.num_heads = 4, c.num_kv_heads = 2, c.head_dim = 32, c.max_context = 4096;
  } else {  // glm4-9b (GLM-4-9B-0414 shapes)
    c.vocab_size = 151552, c.hidden_size = 4096, c.intermediate_size = 13696, c.num_layers = 40;
    c.num_heads = 32, c.num_kv_heads = 2, c.head_dim = 128, c.max_context = 32768;
  }
  if (spec.layers > 0) c.num_layers = spec.layers;
  c.rotary_dim = c.head_dim / 2;
  c.rope_theta = 10000.0;
  c.rms_eps = 1e-5;
  return c;
}

Result<CpuModelOptions::WeightType> parse_weight_type(std::string_view text) {
  using W = CpuModelOptions::WeightType;
  if (text == "f32") return W::kF32;
  if (text == "bf16") return W::kBF16;
  if (text == "int8") return W::kInt8;
  if (text == "stored") return W::kAsStored;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown dtype '" + std::string(text) + "' (expected f32, bf16, int8 or stored)");
}

std::string_view weight_type_name(CpuModelOptions::WeightType type) {
  switch (type) {
    case CpuModelOptions::WeightType::kAsStored: return "stored";
    case CpuModelOptions::WeightType::kF32: return "f32";
    case CpuModelOptions::WeightType::kBF16: return "bf16";
    case CpuModelOptions::WeightType::kInt8: return "int8";
  }
  return "unknown";
}

Result<SyntheticSpec> parse_synthetic_spec(std::string_view text) {
  SyntheticSpec spec;
  const auto colon = text.find(':');
  spec.preset = std::string(text.substr(0, colon));
  if (spec.preset != "glm4-9b" && spec.preset != "tiny") {
    return make_error(ErrorCode::kInvalidArgument,
                      "unknown synthetic model '" + spec.preset + "' (expected glm4-9b or tiny)");
  }
  if (colon != std::string_view::npos) {
    const std::string_view opt = text.substr(colon + 1);
    constexpr std::string_view kLayers = "layers=";
    if (opt.substr(0, kLayers.size()) != kLayers) {
      return make_error(ErrorCode::kInvalidArgument, "synthetic option '" + std::string(opt) + "' (expected layers=N)");
    }
    const std::string digits(opt.substr(kLayers.size()));
    if (digits.empty() || digits.size() > 4 || digits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(digits) <= 0) {
      return make_error(ErrorCode::kInvalidArgument, "layers must be a positive integer, got '" + digits + "'");
    }
    spec.layers = std::stoi(digits);
  }
  return spec;
}

Result<std::unique_ptr<CpuModel>> open_cpu_model(const std::string& model_dir, const CpuModelOptions& options) {
  ALLTOOLS_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(model_dir));
  ALLTOOLS_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(model_dir));
  auto shared = std::make_shared<Checkpoint>(std::move(checkpoint));
  const auto make_source = [&](cpu::ThreadPool&) -> std::unique_ptr<cpu::TensorSource> {
    return std::make_unique<cpu::CheckpointSource>(std::move(*shared));
  };
  std::filesystem::path dir_path = std::filesystem::path(model_dir).lexically_normal();
  if (!dir_path.has_filename()) dir_path = dir_path.parent_path();
  std::string name = dir_path.filename().string();
  if (name.empty() || name == "." || name == "..") name = model_dir;
  return build(config, make_source, name, options);
}

Result<std::unique_ptr<LanguageModel>> load_cpu_model(const std::string& model_dir, const CpuModelOptions& options) {
  ALLTOOLS_ASSIGN_OR_RETURN(auto model, open_cpu_model(model_dir, options));
  return std::unique_ptr<LanguageModel>(std::move(model));
}

Result<std::unique_ptr<CpuModel>> open_synthetic_cpu_model(const SyntheticSpec& spec, const CpuModelOptions& options) {
  const ModelConfig config = synthetic_config(spec);
  const auto make_source = [&](cpu::ThreadPool& pool) -> std::unique_ptr<cpu::TensorSource> {
    return std::make_unique<cpu::SyntheticSource>(config, spec.seed, pool);
  };
  return build(config, make_source, "synthetic-" + spec.preset, options);
}

}  // namespace alltools::model
