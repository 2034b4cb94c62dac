// Measures the machine's memory read bandwidth: `threads` threads each stream their part of a buffer much larger
// than the caches with the widest loads the CPU has (AVX2 here, scalar elsewhere); the best of `repeats` passes.
#pragma once

#include <cstddef>

namespace alltools::bench {

struct BandwidthResult {
  double gb_per_s = 0.0;  // 1 GB = 1e9 bytes
  std::size_t bytes = 0;
  int threads = 0;
  const char* method = "";
};

BandwidthResult measure_read_bandwidth(int threads, std::size_t bytes = std::size_t{512} << 20, int repeats = 5);

}  // namespace alltools::bench
