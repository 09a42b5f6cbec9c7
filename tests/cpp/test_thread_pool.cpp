#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace vas {
namespace {

TEST(ThreadPool, CoversTheRangeOnceAndRunsInline) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    for (int n : {0, 1, 7, 100}) {
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(n, [&](int b, int e) {
        for (int i = b; i < e; ++i) ++hits[i];
      });
      for (int i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << threads << "/" << n;
    }
  }
}

TEST(ThreadPool, ManyShortJobsInARowAllComplete) {
  // Back-to-back jobs exercise the spin-then-block hand-off between generations.
  ThreadPool pool(3);
  std::atomic<long> sum{0};
  for (int job = 0; job < 2000; ++job) {
    pool.parallel_for(3, [&](int b, int e) {
      for (int i = b; i < e; ++i) sum += i + 1;
    });
  }
  EXPECT_EQ(sum.load(), 2000L * 6);
}

TEST(ThreadPool, WorkersThatWakeLateNeverRunAnOldJobsChunks) {
  // With no spinning, workers block after every job and often wake only after the caller
  // has finished the job alone; they must then claim nothing, neither of the old job nor a
  // second time of the new one.
  ThreadPool pool(3, std::chrono::microseconds(0));
  constexpr int kJobs = 3000, kItems = 6;
  std::vector<std::atomic<int>> hits(kJobs * kItems);
  for (int job = 0; job < kJobs; ++job) {
    pool.parallel_for(kItems, [&, job](int b, int e) {
      for (int i = b; i < e; ++i) ++hits[job * kItems + i];
    });
    for (int i = 0; i < kItems; ++i) ASSERT_EQ(hits[job * kItems + i].load(), 1) << job;
  }
  for (int i = 0; i < kJobs * kItems; ++i) ASSERT_EQ(hits[i].load(), 1) << i;
}

TEST(ThreadPool, CallsFromSeveralThreadsAreSerialised) {
  ThreadPool pool(2);
  std::atomic<int> inside{0}, worst{0}, total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      for (int k = 0; k < 200; ++k) {
        pool.parallel_for(2, [&](int b, int e) {
          const int now = ++inside;
          int w = worst.load();
          while (now > w && !worst.compare_exchange_weak(w, now)) {
          }
          total += e - b;
          --inside;
        });
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(total.load(), 3 * 200 * 2);
  EXPECT_LE(worst.load(), 2);  // never more bands at once than the pool's threads
}

}  // namespace
}  // namespace vas
