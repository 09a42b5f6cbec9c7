// RtspSource: an RTSP camera as a channel source that survives the camera going away.
//
// The connection lives in a VideoReader (libavformat). Any read failure (the server closed the
// stream, a read timeout on a frozen server, a run of undecodable packets) drops that reader,
// emits kDisconnected with the cause, and read() then reconnects with capped exponential
// backoff and jitter, answering kTimeout between attempts so the caller can check its stop
// flag. Timestamps continue across reconnects through a TimestampRebaser.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>

#include "io/source_internal.h"
#include "io/video_reader.h"

namespace vas {
namespace source_detail {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// FFmpeg's analyzeduration for cameras: an RTSP H.264 stream announces its parameters in the
// SDP, so half a second of probing is plenty and opens in about 0.3 s instead of over 1 s.
constexpr int kAnalyzeMs = 500;

class RtspSource final : public Source {
 public:
  RtspSource(const SourceConfig& config, SourceEventCallback on_event)
      : config_(config),
        name_(redact_url(config.url)),
        on_event_(std::move(on_event)),
        rng_(std::random_device{}()) {}

  Status read(Pool& pool, VideoFrame* out) override {
    if (out == nullptr) return invalid_argument("source: read() needs a VideoFrame, got NULL");
    if (interrupter_.triggered()) return cancelled();
    if (!reader_) VAS_RETURN_IF_ERROR(connect());
    VideoFrame frame;
    const Status s = reader_->read(pool, &frame);
    if (!s.is_ok()) {
      if (s.code() == StatusCode::kCancelled || interrupter_.triggered()) return cancelled();
      if (s.code() == StatusCode::kPoolExhausted) {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        ++stats_.pool_exhausted;
        return s;
      }
      // Whatever the error, this connection is finished: a timed-out reader is unusable.
      lost(s.code() == StatusCode::kEndOfStream ? "the server ended the stream" : s.message());
      return Status(StatusCode::kTimeout,
                    "source '" + name_ + "': disconnected (" + lost_cause_ + "); reconnecting");
    }
    frame.ts_us = rebaser_.map(frame.pts_us);
    frame.index = next_index_++;
    *out = std::move(frame);
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++stats_.frames;
    stats_.skipped_packets = skipped_before_ + reader_->skipped_packets();
    return Status::ok();
  }

  void interrupt() override { interrupter_.trigger(); }
  double fps() const override { return fps_.load(); }
  SourceStats stats() const override {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    return stats_;
  }

 private:
  // One connection attempt when it is due; OK once reader_ is open, kTimeout while waiting or
  // after a failed attempt, kCancelled after interrupt().
  Status connect() {
    const Clock::time_point now = Clock::now();
    if (now < next_attempt_) {
      // Wait in slices of at most read_timeout_ms, so the caller regains control regularly.
      const Clock::time_point until = std::min(next_attempt_, now + Ms(config_.read_timeout_ms));
      if (!interrupter_.sleep_until(until)) return cancelled();
      if (Clock::now() < next_attempt_) return waiting("waiting to reconnect");
    }
    const Clock::time_point started = Clock::now();
    Result<std::unique_ptr<VideoReader>> r = VideoReader::open(config_.url, reader_options());
    if (!r.is_ok()) {
      if (r.status().code() == StatusCode::kCancelled || interrupter_.triggered()) {
        return cancelled();
      }
      attempt_failed(r.status().message());
      return waiting("cannot connect");
    }
    reader_ = std::move(r).value();
    const VideoInfo& info = reader_->info();
    fps_.store(info.fps);
    rebaser_.set_fps(info.fps);
    rebaser_.discontinuity();
    const std::string stream = info.codec + " " + std::to_string(info.width) + "x" +
                               std::to_string(info.height) + " at " +
                               std::to_string(static_cast<int>(info.fps + 0.5)) + " fps";
    const int64_t open_ms = std::chrono::duration_cast<Ms>(Clock::now() - started).count();
    SourceEvent event;
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      stats_.connected = true;
      if (ever_connected_) {
        ++stats_.reconnects;
        const int64_t down_ms = std::chrono::duration_cast<Ms>(Clock::now() - down_since_).count();
        event =
            make_event(SourceEvent::Kind::kReconnected,
                       "reconnected to '" + name_ + "' (" + stream + ") after " +
                           std::to_string(down_ms) + " ms and " + std::to_string(failed_attempts_) +
                           " failed attempts; the connection was lost: " + lost_cause_);
      } else {
        event = make_event(
            SourceEvent::Kind::kConnected,
            "connected to '" + name_ + "' (" + stream + ") in " + std::to_string(open_ms) + " ms");
      }
    }
    ever_connected_ = true;
    outage_reported_ = false;
    failed_attempts_ = 0;
    emit(event);
    return Status::ok();
  }

  // The open reader failed: report the outage once, and reconnect at once (a glitch recovers
  // without waiting; a dead server is then handled by the backoff).
  void lost(const std::string& cause) {
    skipped_before_ += reader_->skipped_packets();
    reader_.reset();
    lost_cause_ = cause;
    down_since_ = Clock::now();
    next_attempt_ = down_since_;
    outage_reported_ = true;
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.disconnects;
      stats_.connected = false;
      stats_.last_cause = cause;
      stats_.skipped_packets = skipped_before_;
    }
    emit(make_event(SourceEvent::Kind::kDisconnected,
                    "lost '" + name_ + "': " + cause + "; reconnecting"));
  }

  void attempt_failed(const std::string& cause) {
    const Ms delay = backoff(failed_attempts_++);
    next_attempt_ = Clock::now() + delay;
    last_attempt_cause_ = cause + "; next attempt in " + std::to_string(delay.count()) + " ms";
    bool report = false;
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.attempts;
      stats_.last_cause = cause;
      if (!outage_reported_) {  // a camera that is down from the start
        ++stats_.disconnects;
        report = true;
      }
    }
    if (report) {
      outage_reported_ = true;
      lost_cause_ = cause;
      down_since_ = Clock::now();
      emit(make_event(SourceEvent::Kind::kDisconnected,
                      "cannot connect to '" + name_ + "': " + last_attempt_cause_));
    }
  }

  // min(max, initial * 2^n) times a factor in [0.8, 1.2], capped at max.
  Ms backoff(int n) {
    const double base = std::min<double>(
        config_.reconnect_max_ms, config_.reconnect_initial_ms * std::ldexp(1.0, std::min(n, 30)));
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    const double ms = std::min<double>(config_.reconnect_max_ms, base * jitter(rng_));
    return Ms(static_cast<int64_t>(ms));
  }

  VideoReaderOptions reader_options() const {
    VideoReaderOptions o;
    o.output_format = config_.format;
    o.open_timeout_ms = config_.open_timeout_ms;
    o.read_timeout_ms = config_.read_timeout_ms;
    o.rtsp_tcp = config_.transport != "udp";
    o.analyze_ms = kAnalyzeMs;
    o.cancel = interrupter_.flag();
    return o;
  }

  void emit(const SourceEvent& event) {
    if (on_event_) on_event_(event);
  }
  Status waiting(const std::string& what) const {
    return Status(StatusCode::kTimeout,
                  "source '" + name_ + "': " + what + " (" + last_attempt_cause_ + ")");
  }
  Status cancelled() const {
    return Status(StatusCode::kCancelled, "source '" + name_ + "': interrupted");
  }

  const SourceConfig config_;
  const std::string name_;  // url without credentials
  SourceEventCallback on_event_;
  Interrupter interrupter_;
  std::unique_ptr<VideoReader> reader_;
  std::atomic<double> fps_{0.0};
  TimestampRebaser rebaser_;
  std::mt19937 rng_;  // jitter; per source, no shared state
  int64_t next_index_ = 0;
  int64_t skipped_before_ = 0;  // skipped packets of earlier connections
  bool ever_connected_ = false;
  bool outage_reported_ = false;  // kDisconnected already sent for the current outage
  int failed_attempts_ = 0;       // in the current outage
  Clock::time_point next_attempt_{};
  Clock::time_point down_since_{};
  std::string lost_cause_;
  std::string last_attempt_cause_ = "no attempt yet";

  mutable std::mutex stats_mutex_;
  SourceStats stats_;
};

}  // namespace

std::unique_ptr<Source> make_rtsp_source(const SourceConfig& config, SourceEventCallback on_event) {
  return std::make_unique<RtspSource>(config, std::move(on_event));
}

}  // namespace source_detail
}  // namespace vas
