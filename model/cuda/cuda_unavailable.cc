// The CUDA backend's entry points in a build without nvcc: each says so (kUnavailable), nothing else.
#include "model/cuda/cuda_model.h"

namespace alltools::model {
namespace {
Error no_cuda() {
  return make_error(ErrorCode::kUnavailable,
                    "this build has no CUDA backend (nvcc was not found at configure time; install the CUDA toolkit "
                    "and rebuild, or use --device cpu)");
}
}  // namespace

Status cuda_available() { return no_cuda(); }
Result<std::unique_ptr<LocalModel>> open_cuda_model(const std::string&, const CudaModelOptions&) { return no_cuda(); }
Result<std::unique_ptr<LocalModel>> open_synthetic_cuda_model(const SyntheticSpec&, const CudaModelOptions&) {
  return no_cuda();
}
Result<CudaDeviceReport> cuda_device_report(int, std::uint64_t) { return no_cuda(); }

}  // namespace alltools::model
