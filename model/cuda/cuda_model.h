// CUDA backend for GLM-4 checkpoints (model_type chatglm | glm | glm4) on one NVIDIA GPU: weights and KV cache
// on the device, cuBLAS for the prefill matrix products, own kernels for everything else (decode GEMV with fused
// RMSNorm / bias / residual / SwiGLU, RoPE + cache write, split-key decode attention, tensor-core flash attention
// for prefill, sampling). The decode step is captured once as a CUDA graph and replayed; only the sampled token
// id crosses to the host per step.
//
//   auto model = alltools::model::open_cuda_model("/path/to/glm-4-9b-chat", {});  // Result<unique_ptr<LocalModel>>
//
// Precision: kF32 weights run f32 end to end (f32 KV cache, f32 GEMM without TF32) and match the CPU backend to
// f32 rounding. kBF16 / kInt8 models keep a bf16 KV cache and feed bf16 activations to the prefill GEMMs and to
// flash attention (as HF transformers does in bf16); decode GEMVs take f32 activations.
//
// In a build without CUDA (nvcc not found) every entry point returns kUnavailable saying so.
// Thread-safety: as LanguageModel (one caller at a time; CancelToken from any thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "model/cpu/cpu_model.h"
#include "model/local_model.h"

namespace alltools::model {

struct CudaModelOptions {
  // kAsStored: bf16/f16 checkpoints run in bf16, f32 ones in f32. kF32 / kBF16 / kInt8 as the CPU backend
  // (kInt8: weight-only, one f32 scale per output row; the embedding stays bf16).
  CpuModelOptions::WeightType weights = CpuModelOptions::WeightType::kAsStored;
  int max_context = 0;        // KV cache capacity in tokens; 0 = min(config maximum, 32768)
  int device = 0;             // CUDA device ordinal
  int max_prefill_chunk = 0;  // tokens per prefill forward pass; 0 = 4096
  bool use_graph = true;      // capture the decode step as a CUDA graph (false: launch kernels one by one)
};

// kOk when a CUDA device is usable; otherwise kUnavailable with the reason ("built without CUDA", "no CUDA
// device", the driver's message).
Status cuda_available();

Result<std::unique_ptr<LocalModel>> open_cuda_model(const std::string& model_dir, const CudaModelOptions& options);
// Random weights with the spec's shapes, generated exactly as open_synthetic_cpu_model's (same values).
Result<std::unique_ptr<LocalModel>> open_synthetic_cuda_model(const SyntheticSpec& spec, const CudaModelOptions& options);

// kOk for "cpu" and "cuda", else kInvalidArgument naming both.
Status check_device(std::string_view device);

// A local model on `device`: "cpu" (the CPU backend with `options`) or "cuda" (GPU 0, with options.weights and
// options.max_context). Errors: kInvalidArgument for another device name, and those of the backend.
Result<std::unique_ptr<LocalModel>> open_local_model(const std::string& model_dir, std::string_view device,
                                                     const CpuModelOptions& options);
Result<std::unique_ptr<LocalModel>> open_synthetic_local_model(const SyntheticSpec& spec, std::string_view device,
                                                               const CpuModelOptions& options);

// Facts for benchmarks: the device's name, and its copy bandwidth measured now (GB/s counting bytes read plus
// bytes written, median of timed device-to-device copies of `bytes`), memory in use on the device.
struct CudaDeviceReport {
  std::string name;
  int sm_count = 0;
  double copy_bandwidth_gb_s = 0.0;
  std::uint64_t memory_used = 0;   // total - free, whole device
  std::uint64_t memory_total = 0;
};
Result<CudaDeviceReport> cuda_device_report(int device, std::uint64_t copy_bytes);

}  // namespace alltools::model
