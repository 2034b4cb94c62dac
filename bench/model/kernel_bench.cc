// kernel_bench: one thread, one matrix — the decode kernel's GB/s next to a plain read loop's, and the prefill
// tile kernel's GFLOP/s, for each weight format. Usage: kernel_bench [rows cols tokens]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "bench/model/read_bandwidth.h"
#include "model/cpu/kernels.h"

int main(int argc, char** argv) {
  using namespace alltools::model::cpu;
  const int rows = argc > 1 ? std::atoi(argv[1]) : 13696;
  const int cols = argc > 2 ? std::atoi(argv[2]) : 4096;
  const int tokens = argc > 3 ? std::atoi(argv[3]) : 64;
  const KernelSet& k = best_kernels();
  const auto bw = alltools::bench::measure_read_bandwidth(1, std::size_t{512} << 20, 3);
  std::printf("kernels %s; read loop %.1f GB/s (1 thread)\n", k.name, bw.gb_per_s);
  const std::size_t n = static_cast<std::size_t>(rows) * cols;
  std::vector<std::uint16_t> half(n);
  std::vector<std::int8_t> q(n);
  std::vector<float> scales(rows, 0.01f);
  std::mt19937 rng(1);
  for (std::size_t i = 0; i < n; ++i) {
    half[i] = f32_to_bf16(static_cast<float>(rng() % 1000) / 1000.0f - 0.5f);
    q[i] = static_cast<std::int8_t>(rng() % 255 - 127);
  }
  std::vector<float> x(static_cast<std::size_t>(tokens) * cols, 0.5f), y(static_cast<std::size_t>(tokens) * rows);
  struct Case {
    const char* name;
    MatrixRef m;
    double bytes;
  } cases[] = {{"bf16", {WeightFormat::kBF16, rows, cols, half.data(), nullptr}, 2.0 * n},
               {"int8", {WeightFormat::kI8, rows, cols, q.data(), scales.data()}, 1.0 * n + 4.0 * rows}};
  for (const auto& c : cases) {
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      k.matmul(c.m, 0, rows, x.data(), cols, 1, y.data(), rows);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const auto t0 = std::chrono::steady_clock::now();
    k.matmul(c.m, 0, rows, x.data(), cols, tokens, y.data(), rows);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s  decode %.1f GB/s (%.2f of read loop)   prefill %d tokens: %.1f GFLOP/s\n", c.name,
                c.bytes / best / 1e9, c.bytes / best / 1e9 / bw.gb_per_s, tokens, 2.0 * n * tokens / s / 1e9);
  }
  return 0;
}
