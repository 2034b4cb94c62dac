// ThreadPool: a fixed set of worker threads that run one parallel region at a time (fork-join). The caller's
// thread takes part as worker 0, so a pool of size 1 runs everything inline.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace alltools::model::cpu {

class ThreadPool {
 public:
  // `threads` >= 1: total workers including the caller.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(worker) for worker in [0, size()) concurrently and returns when every call has returned.
  // Not reentrant: fn must not call run().
  void run(const std::function<void(int)>& fn);

  // Splits [0, n) into contiguous ranges whose starts are multiples of `align` and runs fn(begin, end) on each,
  // across the workers (ranges are claimed dynamically, so a slow worker does fewer).
  void parallel_for(int n, int align, const std::function<void(int, int)>& fn);

 private:
  void worker_main(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int)>* job_ = nullptr;
  std::uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::atomic<std::uint64_t> published_{0};  // generation_, readable without the lock for the short spin
};

// Number of CPUs this process may run on (sched_getaffinity), at least 1.
int available_cpus();

}  // namespace alltools::model::cpu
