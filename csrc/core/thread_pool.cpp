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
// Pause-only spinning for the first few microseconds; after that the spinner yields between
// polls, so on an oversubscribed machine it hands its core to a runnable thread instead of
// taking the core the other band needs.
constexpr auto kPauseOnly = std::chrono::microseconds(5);

// Spins until done() or `budget` has passed; returns done().
template <typename Done>
bool spin_until(Done&& done, std::chrono::microseconds budget) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      VAS_CPU_RELAX();
    }
    const auto spent = Clock::now() - start;
    if (spent >= budget) return done();
    if (spent >= kPauseOnly) std::this_thread::yield();
  }
}
}  // namespace

ThreadPool::ThreadPool(int threads, std::chrono::microseconds spin) : spin_(spin) {
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
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; }, spin_);
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
    // About four chunks per thread, claimed dynamically: a thread that starts late (woken
    // from sleep, or preempted on a busy machine) leaves its share to the others instead of
    // stalling the call, while chunks stay large enough to keep their rows contiguous.
    chunk_ = std::max(1, n / (4 * threads()));
    next_.store(0, std::memory_order_relaxed);
    busy_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  work_on_current();
  if (spin_until([&] { return busy_.load(std::memory_order_acquire) == 0; }, spin_)) return;
  std::unique_lock<std::mutex> lk(mu_);
  done_.wait(lk, [&] { return busy_.load(std::memory_order_acquire) == 0; });
}

}  // namespace vas
