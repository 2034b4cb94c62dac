#include "model/cpu/thread_pool.h"

#include <sched.h>

#include "common/check.h"

namespace alltools::model::cpu {
namespace {
// Iterations a worker polls for the next region before sleeping on the condition variable: decode issues
// hundreds of short regions per token, and waking a sleeping thread costs tens of microseconds.
constexpr int kSpinIterations = 20000;
constexpr int kChunksPerThread = 8;
}  // namespace

int available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? static_cast<int>(hc) : 1;
}

ThreadPool::ThreadPool(int threads) {
  ALLTOOLS_CHECK(threads >= 1);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    ++generation_;
    published_.store(generation_, std::memory_order_release);
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(const std::function<void(int)>& fn) {
  if (workers_.empty()) {
    fn(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
    published_.store(generation_, std::memory_order_release);
  }
  start_cv_.notify_all();
  fn(0);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::parallel_for(int n, int align, const std::function<void(int, int)>& fn) {
  if (n <= 0) return;
  const int parts = size();
  if (parts == 1) {
    fn(0, n);
    return;
  }
  // Dynamic chunks (kChunksPerThread per worker): a worker the OS has descheduled (the machine is shared) holds
  // up at most one small chunk while the others take the rest.
  const int units = (n + align - 1) / align;
  const int chunk_units = std::max(1, units / (parts * kChunksPerThread));
  const int chunks = (units + chunk_units - 1) / chunk_units;
  std::atomic<int> next{0};
  run([&](int) {
    for (int c = next.fetch_add(1, std::memory_order_relaxed); c < chunks;
         c = next.fetch_add(1, std::memory_order_relaxed)) {
      const int begin = std::min(n, c * chunk_units * align);
      const int end = std::min(n, (c + 1) * chunk_units * align);
      if (begin < end) fn(begin, end);
    }
  });
}

void ThreadPool::worker_main(int index) {
  std::uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < kSpinIterations && published_.load(std::memory_order_acquire) == seen; ++i) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
    const std::function<void(int)>* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (stop_) return;
      job = job_;
    }
    (*job)(index);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

}  // namespace alltools::model::cpu
