// Pieces shared by the file and RTSP sources: the interrupt flag with its wake-up, the timestamp
// re-basing that keeps ts_us monotonic, and the constructors open_source() dispatches to.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "io/source.h"

namespace vas {
namespace source_detail {

// A sticky stop flag that FFmpeg polls (VideoReaderOptions::cancel) and that also cuts short
// the sources' own sleeps (pacing, reconnect backoff). trigger() may be called from any thread.
class Interrupter {
 public:
  void trigger() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      flag_.store(true);
    }
    cv_.notify_all();
  }
  bool triggered() const { return flag_.load(); }
  const std::atomic<bool>* flag() const { return &flag_; }
  // Sleeps until `until`; false when woken by trigger() (or already triggered).
  bool sleep_until(std::chrono::steady_clock::time_point until) {
    std::unique_lock<std::mutex> lock(mutex_);
    return !cv_.wait_until(lock, until, [this] { return flag_.load(); });
  }

 private:
  std::atomic<bool> flag_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
};

// Maps a source's PTS to output timestamps that never go backwards. Normally ts = pts + offset
// (offset 0 until the first discontinuity), so intervals are the stream's own. After
// discontinuity() (a reconnect, a loop), or whenever the mapped value would not move forward
// (a PTS that restarted or wrapped), the offset is re-based so the frame lands one frame
// interval after the last output.
class TimestampRebaser {
 public:
  void set_fps(double fps) {
    if (fps > 0) nominal_us_ = static_cast<int64_t>(1e6 / fps + 0.5);
  }
  void discontinuity() { rebase_ = true; }
  // pts_us < 0 means unknown: the frame is placed one interval after the last.
  int64_t map(int64_t pts_us) {
    const int64_t step = interval_us();
    if (!have_last_) {
      have_last_ = true;
      rebase_ = false;
      offset_ = 0;
      last_ = pts_us >= 0 ? pts_us : 0;
      return last_;
    }
    int64_t ts = pts_us + offset_;
    if (pts_us < 0 || rebase_ || ts <= last_) {
      ts = last_ + step;
      offset_ = ts - pts_us;
      rebase_ = false;
    } else {
      observed_us_ = ts - last_;
    }
    last_ = ts;
    return ts;
  }
  int64_t interval_us() const {
    if (nominal_us_ > 0) return nominal_us_;
    return observed_us_ > 0 ? observed_us_ : kDefaultIntervalUs;
  }

 private:
  static constexpr int64_t kDefaultIntervalUs = 40000;  // 25 fps when the stream says nothing
  int64_t nominal_us_ = 0;
  int64_t observed_us_ = 0;
  int64_t offset_ = 0;
  int64_t last_ = 0;
  bool have_last_ = false;
  bool rebase_ = false;
};

SourceEvent make_event(SourceEvent::Kind kind, std::string cause);

Result<std::unique_ptr<Source>> open_file_source(const SourceConfig& config,
                                                 const std::string& path,
                                                 SourceEventCallback on_event);
std::unique_ptr<Source> make_rtsp_source(const SourceConfig& config, SourceEventCallback on_event);

}  // namespace source_detail
}  // namespace vas
