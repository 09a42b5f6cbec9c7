// ThreadPool: a fixed set of worker threads for data-parallel loops (row bands of an image).
//
// parallel_for() splits [0, n) into contiguous chunks (about four per thread, claimed
// dynamically), runs them on the workers and on the calling thread, and returns when all are
// done. It does not allocate: the body is passed by
// reference and the chunks are claimed with one atomic counter.
//
// Thread safety: parallel_for() may be called from one thread at a time per pool (calls from
// several threads are serialised by an internal mutex). The destructor stops and joins the
// workers; it must not run concurrently with parallel_for().
//
// Waking a sleeping thread costs tens of microseconds (more under a hypervisor, where an
// idle vCPU is halted), a large share of a sub-millisecond frame. So after each job the
// workers keep polling for the next one for `spin` (default 200 us, yielding the core after
// the first few microseconds) before they block on a condition variable: back-to-back jobs,
// such as frames of several channels or a batch, then start without a wake-up. The caller
// likewise polls for the workers to finish before it blocks.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace vas {

class ThreadPool {
 public:
  // threads: total parallelism including the calling thread (1 = run inline, no workers).
  explicit ThreadPool(int threads, std::chrono::microseconds spin = std::chrono::microseconds(200));
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs body(begin, end) over chunks covering [0, n), at most `threads()` chunks in parallel.
  template <typename Body>
  void parallel_for(int n, Body&& body) {
    auto thunk = [](void* ctx, int b, int e) { (*static_cast<Body*>(ctx))(b, e); };
    run(n, thunk, &body);
  }

 private:
  using Fn = void (*)(void*, int, int);
  void run(int n, Fn fn, void* ctx);
  void worker_loop();
  void work_on_current();

  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one parallel_for at a time
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::chrono::microseconds spin_;
  bool stop_ = false;
  // Written under mu_, read lock-free while spinning.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> busy_{0};  // workers still inside the current generation
  // Current job (valid while generation_ is current).
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  int n_ = 0, chunk_ = 1;
  std::atomic<int> next_{0};
};

}  // namespace vas
