// RtspSource: an RTSP camera as a channel source that survives the camera going away.
//
// The connection lives in a VideoReader (libavformat). Any read failure (the server closed the
// stream, a read timeout on a frozen server, a run of undecodable packets) drops that reader,
// emits kDisconnected with the cause, and read() then reconnects with capped exponential
// backoff and jitter, answering kTimeout between attempts so the caller can check its stop
// flag. Timestamps continue across reconnects through a TimestampRebaser.
//
// A camera that was streaming and now refuses connections is restarting: its server is back
// within seconds, and a refused attempt costs one round trip. So after a healthy run, refused
// attempts are retried at the first backoff step for a while instead of backing off (see
// kQuickRetryWindow). Right after a connect, the frames that the server and the probe have
// buffered come out no faster than kCatchUpSpeed times real time, so the connect burst does
// not overflow a short channel queue. Frames still ahead of real time are marked as backlog, so
// the pipeline waits for queue space for them instead of dropping them when its consumer has
// less headroom than the catch-up speed.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>

#include "io/source_internal.h"
#include "io/video_reader.h"

extern "C" {
#include <libavutil/error.h>
}

namespace vas {
namespace source_detail {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// FFmpeg's analyzeduration for cameras: an RTSP H.264 stream announces its parameters in the
// SDP and usually its frame rate in the SPS, so 200 ms of probing is enough. Against
// scripts/rtsp_server.py open() then takes about 0.7 s, against 1.1 s with 500 ms (most of the
// rest is the server preparing its pipeline).
constexpr int kAnalyzeMs = 200;

// How long into an outage that follows a healthy run (the last connection delivered frames) a
// refused attempt is retried at the first backoff step instead of the growing one. Beyond it,
// or for other failures (timeouts, unreachable hosts, RTSP errors), the normal capped backoff.
constexpr Ms kQuickRetryWindow{60000};

// Frames buffered at connect (the probe's packets, the server's preroll) are released at no
// more than this multiple of real time, measured by PTS from the connection's first frame,
// during the connection's first kCatchUpSpan of media time. A stream that arrives in real time
// is never held; a burst of B frames is spread over about B frame intervals / (speed - 1).
constexpr double kCatchUpSpeed = 2.0;
constexpr int64_t kCatchUpSpanUs = 5000000;

// FFmpeg's text for a refused TCP connection, as the reader's open errors quote it.
std::string refused_text() {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(AVERROR(ECONNREFUSED), buf, sizeof(buf));
  return buf;
}

class RtspSource final : public Source {
 public:
  RtspSource(const SourceConfig& config, SourceEventCallback on_event)
      : config_(config),
        name_(redact_url(config.url)),
        on_event_(std::move(on_event)),
        refused_(refused_text()),
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
    if (!catch_up(&frame)) return cancelled();
    healthy_ = true;
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
      // The attempt itself waits for the next call, so one call never sleeps and connects.
      if (!interrupter_.sleep_until(until)) return cancelled();
      return waiting("waiting to reconnect");
    }
    const Clock::time_point started = Clock::now();
    Result<std::unique_ptr<VideoReader>> r = VideoReader::open(config_.url, reader_options());
    if (!r.is_ok()) {
      if (r.status().code() == StatusCode::kCancelled || interrupter_.triggered()) {
        return cancelled();
      }
      const bool refused =
          !refused_.empty() && r.status().message().find(refused_) != std::string::npos;
      attempt_failed(r.status().message(), refused);
      return waiting("cannot connect");
    }
    reader_ = std::move(r).value();
    first_pts_us_ = -1;
    const VideoInfo& info = reader_->info();
    fps_.store(info.fps);
    rebaser_.set_fps(info.fps);
    rebaser_.discontinuity();
    const std::string stream = info.codec + " " + std::to_string(info.width) + "x" +
                               std::to_string(info.height) + " at " +
                               std::to_string(std::lround(info.fps)) + " fps";
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
    backoff_step_ = 0;
    emit(event);
    return Status::ok();
  }

  // The open reader failed: report the outage once, and reconnect at once (a glitch recovers
  // without waiting; a dead server is then handled by the backoff).
  void lost(const std::string& cause) {
    skipped_before_ += reader_->skipped_packets();
    reader_.reset();
    quick_retry_ = healthy_;
    healthy_ = false;
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

  void attempt_failed(const std::string& cause, bool refused) {
    ++failed_attempts_;
    // A restarting camera (refused soon after a healthy run) is tried again at the first step;
    // anything else moves the backoff on towards reconnect_max_ms.
    const bool quick = refused && quick_retry_ && Clock::now() - down_since_ < kQuickRetryWindow;
    const Ms delay = backoff(quick ? 0 : backoff_step_++);
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

  // Holds a frame that is ahead of kCatchUpSpeed times real time since the connection's first
  // frame (the connect burst), and marks it as backlog while it is still more than a frame
  // interval ahead of real time; false when interrupted while waiting.
  bool catch_up(VideoFrame* frame) {
    const int64_t pts_us = frame->pts_us;
    const Clock::time_point now = Clock::now();
    if (first_pts_us_ < 0 || pts_us < first_pts_us_) {
      first_pts_us_ = pts_us;  // -1 (unknown) keeps pacing off until a PTS comes
      first_at_ = now;
      return true;
    }
    const int64_t media_us = pts_us - first_pts_us_;
    if (media_us >= kCatchUpSpanUs) return true;
    const int64_t interval_us = rebaser_.interval_us();
    const Clock::time_point due =
        first_at_ + std::chrono::microseconds(static_cast<int64_t>(media_us / kCatchUpSpeed));
    // Never more than two frame intervals for one frame, whatever the PTS says.
    const Clock::time_point until = std::min(due, now + std::chrono::microseconds(2 * interval_us));
    if (until > now && !interrupter_.sleep_until(until)) return false;
    const int64_t elapsed_us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - first_at_).count();
    frame->backlog = media_us - elapsed_us > interval_us;
    return true;
  }

  Ms backoff(int n) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    return Ms(reconnect_delay_ms(config_, n, unit(rng_)));
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
  const std::string refused_;  // FFmpeg's text for ECONNREFUSED
  Interrupter interrupter_;
  std::unique_ptr<VideoReader> reader_;
  std::atomic<double> fps_{0.0};
  TimestampRebaser rebaser_;
  std::mt19937 rng_;  // jitter; per source, no shared state
  int64_t next_index_ = 0;
  int64_t skipped_before_ = 0;  // skipped packets of earlier connections
  bool ever_connected_ = false;
  bool outage_reported_ = false;  // kDisconnected already sent for the current outage
  bool healthy_ = false;          // the open connection has delivered a frame
  bool quick_retry_ = false;      // the current outage follows a healthy run
  int failed_attempts_ = 0;       // in the current outage
  int backoff_step_ = 0;          // n of the next backoff delay (refused quick retries skip it)
  int64_t first_pts_us_ = -1;     // PTS of the connection's first frame (catch-up pacing)
  Clock::time_point first_at_{};  // when it was read
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
