// Kernel launches for the decode chain with Programmatic Dependent Launch (Hopper): a kernel launched this way
// may start while its predecessor in the stream is still running. Each such kernel calls pdl_trigger() early
// (letting its own successor launch) and pdl_wait() before it reads anything an earlier kernel wrote; pdl_wait
// returns once the predecessor grid has completed and its writes are visible, and since every kernel in the chain
// waits before finishing, the ordering is transitive. Work that depends on nobody (streaming the next matrix's
// first weights into registers) goes before pdl_wait and so overlaps the previous kernel's tail and the launch gap.
// Opt-in (ALLTOOLS_CUDA_PDL=1, sm_90+): measured slower on an H200 so far. Otherwise launches are plain and both
// calls are no-ops.
// Internal to model/cuda.
#pragma once

#include <cuda_runtime.h>

#include "model/cuda/kernels.h"  // PdlScope, pdl_active

namespace alltools::model::cuda {


__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

template <typename... Params, typename... Args>
cudaError_t launch_chained(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream,
                           Args&&... args) {
  cudaLaunchAttribute attr{};
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = pdl_active() ? &attr : nullptr;
  config.numAttrs = pdl_active() ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...);
}

}  // namespace alltools::model::cuda
