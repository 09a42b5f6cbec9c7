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

void ThreadPool::work_on(uint32_t job) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  for (;;) {
    if (static_cast<uint32_t>(t >> 32) != job) return;
    const int n = n_.load(std::memory_order_relaxed);
    const int b = static_cast<int>(static_cast<uint32_t>(t));
    if (b >= n) return;
    const int e = std::min(n, b + chunk_.load(std::memory_order_relaxed));
    const uint64_t claimed = (static_cast<uint64_t>(job) << 32) | static_cast<uint32_t>(e);
    if (!ticket_.compare_exchange_weak(t, claimed, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      continue;  // t now holds the current ticket
    }
    // The job cannot finish (nor fn_ change) before this chunk is counted off.
    fn_(ctx_, b, e);
    if (left_.fetch_sub(e - b, std::memory_order_acq_rel) == e - b) {
      std::lock_guard<std::mutex> lk(mu_);
      done_.notify_one();
    }
    t = ticket_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop() {
  uint32_t seen = 0;
  for (;;) {
    spin_until([&] { return job_.load(std::memory_order_acquire) != seen; }, spin_);
    {
      std::unique_lock<std::mutex> lk(mu_);
      wake_.wait(lk, [&] { return stop_ || job_.load(std::memory_order_relaxed) != seen; });
      if (stop_) return;
      seen = job_.load(std::memory_order_relaxed);
    }
    work_on(seen);
  }
}

void ThreadPool::run(int n, Fn fn, void* ctx) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    fn(ctx, 0, n);
    return;
  }
  std::lock_guard<std::mutex> call(call_mu_);
  uint32_t job;
  {
    std::lock_guard<std::mutex> lk(mu_);
    fn_ = fn;
    ctx_ = ctx;
    n_.store(n, std::memory_order_relaxed);
    // About eight chunks per thread, claimed dynamically: a thread that starts late (woken
    // from sleep, or preempted on a busy machine) leaves its share to the others, while
    // chunks stay large enough to keep their rows contiguous.
    chunk_.store(std::max(1, n / (8 * threads())), std::memory_order_relaxed);
    left_.store(n, std::memory_order_relaxed);
    job = job_.load(std::memory_order_relaxed) + 1;
    ticket_.store(static_cast<uint64_t>(job) << 32, std::memory_order_release);
    job_.store(job, std::memory_order_release);
  }
  wake_.notify_all();
  work_on(job);
  const auto finished = [&] { return left_.load(std::memory_order_acquire) == 0; };
  if (spin_until(finished, spin_)) return;
  std::unique_lock<std::mutex> lk(mu_);
  done_.wait(lk, finished);
}

}  // namespace vas
