# CUDA detection for the CUDA backend (model/cuda). Enabled at the top level so that every directory can link
# targets that hold CUDA code. ALLTOOLS_CUDA: AUTO (default: when nvcc is found, also at /usr/local/cuda), ON
# (a missing nvcc is an error), OFF. Sets ALLTOOLS_HAVE_CUDA. The sanitizer build skips CUDA (nvcc takes no
# -fsanitize and the device code is checked with compute-sanitizer instead).
set(ALLTOOLS_CUDA "AUTO" CACHE STRING "Build the CUDA backend: AUTO (when nvcc is found), ON, OFF")
set(ALLTOOLS_HAVE_CUDA OFF)
if(NOT ALLTOOLS_CUDA STREQUAL "OFF" AND NOT ALLTOOLS_SANITIZE)
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(ALLTOOLS_HAVE_CUDA ON)
  elseif(ALLTOOLS_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ALLTOOLS_CUDA=ON but no CUDA compiler was found")
  endif()
endif()
if(ALLTOOLS_HAVE_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 90)
  endif()
  if(CCACHE_PROGRAM)
    set(CMAKE_CUDA_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
  endif()
  enable_language(CUDA)
  # C++17 for device code (CMake 3.25 does not know nvcc 13's C++20 flag); the .cu files include only
  # model/cuda/kernels.h, never the C++20 host headers.
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
endif()
