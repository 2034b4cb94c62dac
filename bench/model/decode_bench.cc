#include "bench/model/decode_bench.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "bench/model/read_bandwidth.h"
#include "model/cpu/thread_pool.h"
#include "model/cuda/cuda_model.h"

namespace alltools::bench {
namespace {

// The value in kB of the line starting with `key` in a /proc file, in MiB (0 when absent).
double proc_mib(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      std::istringstream ss(line.substr(key.size()));
      double kb = 0;
      ss >> kb;
      return kb / 1024.0;
    }
  }
  return 0.0;
}

double vm_hwm_mib() { return proc_mib("/proc/self/status", "VmHWM:"); }

}  // namespace

Result<DecodeBenchReport> run_decode_bench(const DecodeBenchOptions& options) {
  using namespace alltools::model;
  if (options.prompt_tokens < 1 || options.decode_tokens < 2) {
    return make_error(ErrorCode::kInvalidArgument, "bench needs --prompt >= 1 and --tokens >= 2");
  }
  ALLTOOLS_RETURN_IF_ERROR(check_device(options.device));
  const bool gpu = options.device == "cuda";
  DecodeBenchReport r;
  if (gpu) {
    // 1 GiB per buffer: far beyond the L2, so the copy runs at memory speed.
    ALLTOOLS_ASSIGN_OR_RETURN(CudaDeviceReport dev, cuda_device_report(0, 1ull << 30));
    r.gpu_name = dev.name;
    r.copy_bandwidth_gb_s = dev.copy_bandwidth_gb_s;
    r.read_bandwidth_gb_s = dev.copy_bandwidth_gb_s;
    r.bandwidth_method = "cudaMemcpy device to device, 1 GiB, median of 20, bytes read + written";
  }
  // Bandwidth first: its buffer is freed before the model loads, so it does not raise the peak RSS.
  const int threads = options.model.threads > 0 ? options.model.threads : model::cpu::available_cpus();
  if (options.measure_bandwidth && !gpu) {
    const BandwidthResult bw = measure_read_bandwidth(threads);
    r.read_bandwidth_gb_s = bw.gb_per_s;
    r.bandwidth_method = bw.method;
  }
  const auto t_load = std::chrono::steady_clock::now();
  Result<std::unique_ptr<LocalModel>> opened = make_error(ErrorCode::kInternal, "unset");
  if (!options.synthetic.empty()) {
    ALLTOOLS_ASSIGN_OR_RETURN(SyntheticSpec spec, parse_synthetic_spec(options.synthetic));
    CpuModelOptions mo = options.model;
    if (mo.max_context == 0) mo.max_context = options.prompt_tokens + options.decode_tokens + 1;
    opened = open_synthetic_local_model(spec, options.device, mo);
  } else {
    opened = open_local_model(options.model_dir, options.device, options.model);
  }
  if (!opened.ok()) return opened.error();
  std::unique_ptr<LocalModel> model = std::move(opened).value();
  r.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  r.model_name = model->info().name;
  r.kernel = std::string(model->kernel_name());
  r.compute_type = std::string(model->compute_type());
  r.threads = model->threads();
  r.weight_bytes = model->weight_bytes();

  std::vector<TokenId> prompt;
  for (int i = 0; i < options.prompt_tokens; ++i) {
    prompt.push_back(static_cast<TokenId>((i * 7919 + 13) % model->info().vocab_size));
  }
  if (gpu && options.warmup_tokens > 0) {
    ALLTOOLS_RETURN_IF_ERROR(model->append(prompt));
    GenerateRequest warm;
    warm.max_new_tokens = options.warmup_tokens;
    auto warmed = model->generate(warm, nullptr);
    if (!warmed.ok()) return warmed.error();
    ALLTOOLS_RETURN_IF_ERROR(model->rewind(0));
  }
  ALLTOOLS_RETURN_IF_ERROR(model->append(prompt));
  r.prompt_tokens = options.prompt_tokens;
  r.prefill_tok_s = options.prompt_tokens / model->last_timings().prefill_seconds;

  GenerateRequest request;
  request.max_new_tokens = options.decode_tokens;
  ALLTOOLS_ASSIGN_OR_RETURN(GenerateResult gen, model->generate(request, nullptr));
  // generate() runs one forward pass per sampled token except the last (it stays pending in the cache).
  r.decode_steps = static_cast<int>(gen.tokens.size()) - 1;
  r.first_tokens.assign(gen.tokens.begin(), gen.tokens.begin() + std::min<std::size_t>(8, gen.tokens.size()));
  r.decode_tok_s = r.decode_steps / gen.timings.decode_seconds;
  const std::uint64_t kv_per_position = model->kv_bytes_per_position();
  const std::uint64_t mean_context = static_cast<std::uint64_t>(options.prompt_tokens + options.decode_tokens / 2);
  r.bytes_per_token = model->weight_bytes_per_token() + kv_per_position * mean_context;
  r.achieved_gb_s = static_cast<double>(r.bytes_per_token) * r.decode_tok_s / 1e9;
  r.peak_rss_mib = vm_hwm_mib();  // before the second probe's buffer
  r.huge_pages_mib = proc_mib("/proc/self/smaps_rollup", "AnonHugePages:");
  if (gpu) {
    ALLTOOLS_ASSIGN_OR_RETURN(CudaDeviceReport after, cuda_device_report(0, 0));
    r.gpu_memory_used_gib = static_cast<double>(after.memory_used) / (1ull << 30);
    r.roofline_tok_s = r.copy_bandwidth_gb_s * 1e9 / static_cast<double>(r.bytes_per_token);
    r.roofline_fraction = r.decode_tok_s / r.roofline_tok_s;
  } else if (options.measure_bandwidth) {
    // The machine may be shared: probe again right after decoding and keep the higher (less flattering) figure.
    const BandwidthResult again = measure_read_bandwidth(threads);
    r.read_bandwidth_gb_s = std::max(r.read_bandwidth_gb_s, again.gb_per_s);
  }
  if (r.read_bandwidth_gb_s > 0) r.ratio = r.achieved_gb_s / r.read_bandwidth_gb_s;
  return r;
}

}  // namespace alltools::bench
