// Small thread-safe meters for pipeline stats: a latency window (percentiles over the most
// recent samples) and a rate meter (events per second over the last few seconds). Both have a
// fixed size, so recording never allocates, and each has its own mutex held for a few
// instructions only.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace vas {

inline int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Latency percentiles over the last kSize samples.
class LatencyWindow {
 public:
  static constexpr size_t kSize = 512;
  void add(double ms) {
    std::lock_guard<std::mutex> lock(mu_);
    samples_[next_ % kSize] = ms;
    ++next_;
  }
  // p in [0, 1]; 0 when there is no sample yet.
  void percentiles(double* p50, double* p99) const {
    std::vector<double> v;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const size_t n = std::min<size_t>(next_, kSize);
      v.assign(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    *p50 = pick(&v, 0.50);
    *p99 = pick(&v, 0.99);
  }
  void reset() {
    std::lock_guard<std::mutex> lock(mu_);
    next_ = 0;
  }

 private:
  static double pick(std::vector<double>* v, double p) {
    if (v->empty()) return 0;
    const size_t k =
        std::min(v->size() - 1, static_cast<size_t>(p * static_cast<double>(v->size())));
    std::nth_element(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(k), v->end());
    return (*v)[k];
  }
  mutable std::mutex mu_;
  std::array<double, kSize> samples_{};
  size_t next_ = 0;
};

// Events per second over a sliding window of one-second buckets.
class RateMeter {
 public:
  static constexpr int kBuckets = 5;
  void add(uint64_t n = 1) {
    const int64_t sec = steady_us() / 1000000;
    std::lock_guard<std::mutex> lock(mu_);
    roll(sec);
    counts_[static_cast<size_t>(sec % kBuckets)] += n;
    if (first_sec_ < 0) first_sec_ = sec;
  }
  // Rate over the completed buckets plus the current partial one.
  double rate() const {
    const int64_t now = steady_us();
    const int64_t sec = now / 1000000;
    std::lock_guard<std::mutex> lock(mu_);
    if (frozen_ >= 0) return frozen_;
    const_cast<RateMeter*>(this)->roll(sec);
    if (first_sec_ < 0) return 0;
    uint64_t total = 0;
    for (uint64_t c : counts_) total += c;
    // The window spans the full buckets kept plus the elapsed part of the current one, but
    // never more than the time since the first event.
    const double span_full = static_cast<double>(std::min<int64_t>(kBuckets - 1, sec - first_sec_));
    const double span = span_full + static_cast<double>(now % 1000000) / 1e6;
    return span > 0.05 ? static_cast<double>(total) / span : 0;
  }
  // Keeps the rate as it is now until reset(): a stopped channel reports the fps it had when
  // it stopped, not one that decays toward zero as if time went on.
  void freeze() {
    const double r = rate();
    std::lock_guard<std::mutex> lock(mu_);
    frozen_ = r;
  }
  void reset() {
    std::lock_guard<std::mutex> lock(mu_);
    frozen_ = -1;
    counts_.fill(0);
    first_sec_ = -1;
    last_sec_ = -1;
  }

 private:
  void roll(int64_t sec) {
    if (last_sec_ < 0) {
      last_sec_ = sec;
      return;
    }
    for (int64_t s = last_sec_ + 1; s <= sec && s <= last_sec_ + kBuckets; ++s) {
      counts_[static_cast<size_t>(s % kBuckets)] = 0;
    }
    if (sec > last_sec_) last_sec_ = sec;
  }
  mutable std::mutex mu_;
  std::array<uint64_t, kBuckets> counts_{};
  int64_t first_sec_ = -1, last_sec_ = -1;
  double frozen_ = -1;  // >= 0 once frozen
};

}  // namespace vas
