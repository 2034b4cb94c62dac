// Shared by the GPU tests: skip (with the reason) when no CUDA device is usable, as on CI machines.
#pragma once

#include <gtest/gtest.h>

#include "model/cuda/cuda_model.h"

#define SKIP_WITHOUT_GPU()                                                          \
  do {                                                                              \
    const ::alltools::Status gpu_ = ::alltools::model::cuda_available();            \
    if (!gpu_.ok()) GTEST_SKIP() << "no GPU: " << gpu_.error().message;             \
  } while (0)
