#include "core/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VAS_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define VAS_CPU_RELAX() asm volatile("yield")
#else
#define VAS_CPU_RELAX() \
  do {                  \
  } while (0)
#endif

namespace vas {
namespace {
// A few microseconds of pause instructions. Longer spins (4000 iterations, ~100 us) were
// measured to make 2-thread runs slower when the machine is oversubscribed, because the
// spinning thread takes the core the other band needs.
constexpr int kSpinIterations = 256;
}  // namespace

ThreadPool::ThreadPool(int threads) {
  const int extra = std::max(0, threads - 1);
  workers_.reserve(extra);
  for (int i = 0; i < extra; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work_on_current() {
  for (;;) {
    const int b = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (b >= n_) return;
    fn_(ctx_, b, std::min(n_, b + chunk_));
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < kSpinIterations && generation_.load(std::memory_order_acquire) == seen;
         ++i) {
      VAS_CPU_RELAX();
    }
    {
      std::unique_lock<std::mutex> lk(mu_);
      wake_.wait(lk, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
      if (stop_) return;
      seen = generation_.load(std::memory_order_relaxed);
    }
    work_on_current();
    if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(mu_);
      done_.notify_one();
    }
  }
}

void ThreadPool::run(int n, Fn fn, void* ctx) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    fn(ctx, 0, n);
    return;
  }
  std::lock_guard<std::mutex> call(call_mu_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    fn_ = fn;
    ctx_ = ctx;
    n_ = n;
    // One chunk per thread: bands stay contiguous, which keeps row caches warm.
    chunk_ = (n + threads() - 1) / threads();
    next_.store(0, std::memory_order_relaxed);
    busy_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  work_on_current();
  for (int i = 0; i < kSpinIterations && busy_.load(std::memory_order_acquire) != 0; ++i) {
    VAS_CPU_RELAX();
  }
  std::unique_lock<std::mutex> lk(mu_);
  done_.wait(lk, [&] { return busy_.load(std::memory_order_acquire) == 0; });
}

}  // namespace vas
