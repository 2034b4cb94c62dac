// open_local_model: the one place that turns a device name into a backend (CLI, benchmarks, checks). Built with and
// without CUDA (without it, "cuda" gets the CUDA stubs' kUnavailable).
#include "model/cuda/cuda_model.h"

namespace alltools::model {

Status check_device(std::string_view device) {
  if (device == "cpu" || device == "cuda") return ok_status();
  return make_error(ErrorCode::kInvalidArgument, "unknown device '" + std::string(device) + "' (expected cpu or cuda)");
}

namespace {

CudaModelOptions cuda_options(const CpuModelOptions& options) {
  CudaModelOptions o;
  o.weights = options.weights;
  o.max_context = options.max_context;
  return o;
}

}  // namespace

Result<std::unique_ptr<LocalModel>> open_local_model(const std::string& model_dir, std::string_view device,
                                                     const CpuModelOptions& options) {
  ALLTOOLS_RETURN_IF_ERROR(check_device(device));
  if (device == "cuda") return open_cuda_model(model_dir, cuda_options(options));
  ALLTOOLS_ASSIGN_OR_RETURN(auto m, open_cpu_model(model_dir, options));
  return std::unique_ptr<LocalModel>(std::move(m));
}

Result<std::unique_ptr<LocalModel>> open_synthetic_local_model(const SyntheticSpec& spec, std::string_view device,
                                                               const CpuModelOptions& options) {
  ALLTOOLS_RETURN_IF_ERROR(check_device(device));
  if (device == "cuda") return open_synthetic_cuda_model(spec, cuda_options(options));
  ALLTOOLS_ASSIGN_OR_RETURN(auto m, open_synthetic_cpu_model(spec, options));
  return std::unique_ptr<LocalModel>(std::move(m));
}

}  // namespace alltools::model
