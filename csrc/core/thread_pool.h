// ThreadPool: a fixed set of worker threads for data-parallel loops (row bands of an image).
//
// parallel_for() splits [0, n) into contiguous chunks (about eight per thread, claimed
// dynamically), runs them on the workers and on the calling thread, and returns when all are
// done. It does not allocate: the body is passed by reference and chunks are claimed through
// one atomic ticket (below).
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
//
// The caller never waits for a worker to wake up: it works through the chunks itself and
// waits only for chunks a worker has already claimed. Chunks are claimed through a ticket
// that carries the job number, so a worker that wakes after its job is over claims nothing,
// and a frame after a long pause (video at 30 fps) costs at most one chunk of a late worker
// instead of a whole wake-up.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
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
    using B = std::remove_reference_t<Body>;
    auto thunk = [](void* ctx, int b, int e) { (*static_cast<B*>(ctx))(b, e); };
    run(n, thunk, const_cast<void*>(static_cast<const void*>(&body)));
  }

 private:
  using Fn = void (*)(void*, int, int);
  void run(int n, Fn fn, void* ctx);
  void worker_loop();

  // Claims and runs chunks of job `job` until none are left or the job is over.
  void work_on(uint32_t job);

  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one parallel_for at a time
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::chrono::microseconds spin_;
  bool stop_ = false;
  // The current job number; written under mu_, polled lock-free by idle workers.
  std::atomic<uint32_t> job_{0};
  // (job << 32) | next chunk start: a claim succeeds only for the job it was made for.
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> left_{0};  // items of the current job not yet finished
  // The current job's body; stable while any of its chunks is unfinished.
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<int> n_{0}, chunk_{1};
};

}  // namespace vas
