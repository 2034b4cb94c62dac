// The decode benchmark: prefill and batch-1 decode speed of the CPU backend on a checkpoint or on random weights
// with GLM-4-9B's shapes, against the machine's measured read bandwidth (decode streams every weight once per
// token, so achieved GB/s / read bandwidth says how close to the memory limit it runs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/cpu/cpu_model.h"
#include "model/local_model.h"

namespace alltools::bench {

struct DecodeBenchOptions {
  std::string model_dir;   // either this
  std::string synthetic;   // or this, e.g. "glm4-9b:layers=4"
  model::CpuModelOptions model;
  std::string device = "cpu";  // or "cuda": GPU 0, roofline from its measured copy bandwidth
  int warmup_tokens = 8;       // cuda: a first prefill + decode of this many tokens (graph capture, cuBLAS
                               // heuristics) before the timed run, then the cache is rewound
  int prompt_tokens = 128;
  int decode_tokens = 32;
  bool measure_bandwidth = true;
};

struct DecodeBenchReport {
  std::string model_name;
  std::string kernel;
  std::string compute_type;  // LocalModel::compute_type()
  int threads = 0;
  double load_seconds = 0.0;
  std::uint64_t weight_bytes = 0;
  std::uint64_t bytes_per_token = 0;   // weights + KV cache read per decode step (average over the run)
  int prompt_tokens = 0;
  double prefill_tok_s = 0.0;
  int decode_steps = 0;
  double decode_tok_s = 0.0;
  std::vector<model::TokenId> first_tokens;  // the first greedy tokens (up to 8): compare runs of the same weights
  double achieved_gb_s = 0.0;
  double read_bandwidth_gb_s = 0.0;    // the higher of two probes, before loading and after decoding
  std::string bandwidth_method;
  double ratio = 0.0;                  // achieved / read bandwidth
  double peak_rss_mib = 0.0;           // VmHWM
  double huge_pages_mib = 0.0;         // AnonHugePages after decoding: weights the kernel put in 2 MiB pages
  // cuda only
  std::string gpu_name;
  double copy_bandwidth_gb_s = 0.0;    // device-to-device copy, bytes read + written
  double roofline_tok_s = 0.0;         // copy bandwidth / bytes read per decode step
  double roofline_fraction = 0.0;      // decode tok/s / roofline
  double gpu_memory_used_gib = 0.0;    // whole device, after the run
};

Result<DecodeBenchReport> run_decode_bench(const DecodeBenchOptions& options);

}  // namespace alltools::bench
