// RAII for device memory, pinned host memory, streams, events and graphs, plus the mapping of CUDA / cuBLAS
// status codes to Status values. Internal to model/cuda.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

#include "common/result.h"

namespace alltools::model::cuda {

inline Error cuda_error(cudaError_t e, const char* what) {
  const ErrorCode code = e == cudaErrorMemoryAllocation ? ErrorCode::kResourceExhausted : ErrorCode::kInternal;
  return Error{code, std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")"};
}
inline Error cublas_error(cublasStatus_t s, const char* what) {
  return Error{ErrorCode::kInternal, std::string(what) + ": cuBLAS " + cublasGetStatusName(s) + " (" +
                                         cublasGetStatusString(s) + ")"};
}

#define ALLTOOLS_CUDA_TRY(expr)                                                        \
  do {                                                                                 \
    const cudaError_t alltools_cuda_e_ = (expr);                                       \
    if (alltools_cuda_e_ != cudaSuccess) return ::alltools::model::cuda::cuda_error(alltools_cuda_e_, #expr); \
  } while (0)
#define ALLTOOLS_CUBLAS_TRY(expr)                                                      \
  do {                                                                                 \
    const cublasStatus_t alltools_cublas_s_ = (expr);                                  \
    if (alltools_cublas_s_ != CUBLAS_STATUS_SUCCESS) return ::alltools::model::cuda::cublas_error(alltools_cublas_s_, #expr); \
  } while (0)

// Owns one cudaMalloc allocation (or nothing).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  static Result<DeviceBuffer> allocate(std::size_t bytes) {
    DeviceBuffer b;
    if (bytes == 0) return b;
    const cudaError_t e = cudaMalloc(&b.ptr_, bytes);
    if (e != cudaSuccess) {
      b.ptr_ = nullptr;
      return Error{ErrorCode::kResourceExhausted,
                   "cudaMalloc of " + std::to_string(bytes) + " bytes: " + cudaGetErrorString(e)};
    }
    b.bytes_ = bytes;
    return b;
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }

  void reset() {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

// Owns one cudaMallocHost allocation.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  static Result<PinnedBuffer> allocate(std::size_t bytes) {
    PinnedBuffer b;
    const cudaError_t e = cudaMallocHost(&b.ptr_, bytes);
    if (e != cudaSuccess) return cuda_error(e, "cudaMallocHost");
    return b;
  }
  PinnedBuffer(PinnedBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)) {}
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept {
    if (this != &o) {
      if (ptr_ != nullptr) cudaFreeHost(ptr_);
      ptr_ = std::exchange(o.ptr_, nullptr);
    }
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() {
    if (ptr_ != nullptr) cudaFreeHost(ptr_);
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
};

// Owns a stream, an event pair, a graph + its executable, a cuBLAS handle: small wrappers with a deleter each.
struct StreamDeleter {
  void operator()(CUstream_st* s) const { cudaStreamDestroy(s); }
};
struct GraphExecDeleter {
  void operator()(CUgraphExec_st* g) const { cudaGraphExecDestroy(g); }
};
struct GraphDeleter {
  void operator()(CUgraph_st* g) const { cudaGraphDestroy(g); }
};
struct EventDeleter {
  void operator()(CUevent_st* e) const { cudaEventDestroy(e); }
};
struct CublasDeleter {
  void operator()(cublasContext* h) const { cublasDestroy(h); }
};

}  // namespace alltools::model::cuda
