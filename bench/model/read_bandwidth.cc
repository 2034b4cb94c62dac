#include "bench/model/read_bandwidth.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace alltools::bench {
namespace {

#if defined(__x86_64__)
// Reads [p, p + n) with four independent 256-bit load streams; n is a multiple of 128.
__attribute__((target("avx2"))) std::uint64_t read_avx2(const std::uint8_t* p, std::size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (std::size_t i = 0; i < n; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return static_cast<std::uint64_t>(_mm256_extract_epi64(s, 0) ^ _mm256_extract_epi64(s, 3));
}
#endif

std::uint64_t read_scalar(const std::uint8_t* p, std::size_t n) {
  std::uint64_t a = 0, b = 0;
  for (std::size_t i = 0; i < n; i += 16) {
    std::uint64_t x, y;
    std::memcpy(&x, p + i, 8);
    std::memcpy(&y, p + i + 8, 8);
    a ^= x;
    b ^= y;
  }
  return a ^ b;
}

bool has_avx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

}  // namespace

BandwidthResult measure_read_bandwidth(int threads, std::size_t bytes, int repeats) {
  BandwidthResult result;
  threads = std::max(1, threads);
  bytes = bytes / (128 * static_cast<std::size_t>(threads)) * 128 * threads;
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return result;
  auto* buf = static_cast<std::uint8_t*>(mem);
  for (std::size_t i = 0; i < bytes; i += 64) buf[i] = static_cast<std::uint8_t>(i * 131);  // commit every page
  const bool avx2 = has_avx2();
  const std::size_t part = bytes / threads;
  std::vector<std::uint64_t> sinks(static_cast<std::size_t>(threads));
  double best = 0.0;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const std::uint8_t* p = buf + part * t;
#if defined(__x86_64__)
        sinks[t] ^= avx2 ? read_avx2(p, part) : read_scalar(p, part);
#else
        sinks[t] ^= read_scalar(p, part);
#endif
      });
    }
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(bytes) / s / 1e9);
  }
  volatile std::uint64_t keep = 0;
  for (auto v : sinks) keep = keep ^ v;
  (void)keep;
  ::munmap(mem, bytes);
  result.gb_per_s = best;
  result.bytes = bytes;
  result.threads = threads;
  result.method = avx2 ? "AVX2 256-bit loads" : "64-bit scalar loads";
  return result;
}

}  // namespace alltools::bench
