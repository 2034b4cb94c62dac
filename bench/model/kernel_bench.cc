// kernel_bench: one thread, one matrix — the decode kernel's GB/s next to a plain read loop's, and the prefill
// tile kernel's GFLOP/s and the batched decode's (16 rows), for each weight format.
// Usage: kernel_bench [rows cols tokens]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "bench/model/read_bandwidth.h"
#include "model/cpu/kernels.h"

namespace {
// CPU seconds of this thread: excludes time the scheduler gave to other processes (the machine is shared).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
}  // namespace

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
    // Continuous batching: the decode rows of up to 16 sequences through the matrix at once (matvec_batch).
    const int batch = std::min(16, tokens);
    double sb = 1e9, cpu_b = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t1 = std::chrono::steady_clock::now();
      const double cb = thread_cpu_seconds();
      k.matvec_batch(c.m, 0, rows, x.data(), cols, batch, y.data(), rows);
      sb = std::min(sb, std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
      cpu_b = std::min(cpu_b, thread_cpu_seconds() - cb);
    }
    std::printf("      batched decode %d rows: %.1f GFLOP/s (%.1f per CPU-second), %.2fx the time of one row\n", batch,
                2.0 * n * batch / sb / 1e9, 2.0 * n * batch / cpu_b / 1e9, sb / best);
    // Compute ceiling: the first 384 KiB of rows (L2-resident), per CPU second.
    const int hot_rows = std::max(4, static_cast<int>((384 << 10) / (c.bytes / rows)));
    const MatrixRef hot{c.m.format, hot_rows, cols, c.m.data, c.m.row_scales};
    const double c0 = thread_cpu_seconds();
    int reps = 0;
    while (thread_cpu_seconds() - c0 < 0.5) {
      k.matmul(hot, 0, hot_rows, x.data(), cols, 1, y.data(), rows);
      ++reps;
    }
    const double hot_s = thread_cpu_seconds() - c0;
    const double c1 = thread_cpu_seconds();
    k.matmul(c.m, 0, rows, x.data(), cols, tokens, y.data(), rows);
    const double prefill_cpu = thread_cpu_seconds() - c1;
    std::printf("      in-cache decode %.1f GB per CPU-second; prefill %.1f GFLOP per CPU-second\n",
                c.bytes / rows * hot_rows * reps / hot_s / 1e9, 2.0 * n * tokens / prefill_cpu / 1e9);
  }
  return 0;
}
