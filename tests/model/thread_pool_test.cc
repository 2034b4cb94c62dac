#include "model/cpu/thread_pool.h"

#include <gtest/gtest.h>

namespace alltools::model::cpu {
namespace {

TEST(ThreadPool, ParallelForCoversEveryIndexOnceWithAlignedRanges) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int n : {0, 1, 15, 16, 17, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      for (int round = 0; round < 5; ++round) {
        pool.parallel_for(n, 16, [&](int begin, int end) {
          EXPECT_EQ(begin % 16, 0);
          for (int i = begin; i < end; ++i) hits[i].fetch_add(1);
        });
      }
      for (int i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 5) << "threads " << threads << " n " << n;
    }
  }
}

TEST(ThreadPool, RunCallsEveryWorker) {
  ThreadPool pool(3);
  std::atomic<int> mask{0};
  pool.run([&](int worker) { mask.fetch_or(1 << worker); });
  EXPECT_EQ(mask.load(), 7);
}

}  // namespace
}  // namespace alltools::model::cpu
