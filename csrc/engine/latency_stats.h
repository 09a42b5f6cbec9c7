// Latency statistics over an engine's runs, shared by every backend: the count and mean over
// all runs, the median and 90th percentile over the most recent kWindow runs, and the last one.
// The window is a fixed ring, so recording a run never allocates.
//
// Thread safety: record() and snapshot() may be called from any thread (runs on one engine may
// be concurrent); an internal mutex guards the ring.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "engine/engine.h"

namespace vas {

class LatencyStats {
 public:
  static constexpr size_t kWindow = 256;

  void record(double ms);
  EngineStats snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::array<double, kWindow> window_{};
  uint64_t runs_ = 0;
  double total_ms_ = 0;
  double last_ms_ = 0;
};

}  // namespace vas
