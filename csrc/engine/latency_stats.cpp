#include "engine/latency_stats.h"

#include <algorithm>

namespace vas {

void LatencyStats::record(double ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  window_[runs_ % kWindow] = ms;
  ++runs_;
  total_ms_ += ms;
  last_ms_ = ms;
}

EngineStats LatencyStats::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineStats s;
  s.runs = runs_;
  s.mean_ms = runs_ ? total_ms_ / static_cast<double>(runs_) : 0;
  s.last_ms = last_ms_;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(runs_, kWindow));
  if (n) {
    std::array<double, kWindow> sorted;  // on the stack: a snapshot never allocates either
    std::copy_n(window_.begin(), n, sorted.begin());
    std::sort(sorted.begin(), sorted.begin() + n);
    s.median_ms = sorted[n / 2];
    s.p90_ms = sorted[std::min(n - 1, n * 9 / 10)];
  }
  return s;
}

}  // namespace vas
