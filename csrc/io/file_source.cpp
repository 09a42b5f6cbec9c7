// FileSource: a video file as a channel source, optionally looping and paced like a camera.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "io/source_internal.h"
#include "io/video_reader.h"

namespace vas {
namespace source_detail {
namespace {

using Clock = std::chrono::steady_clock;

// When a realtime reader falls this far behind the file's clock (a slow consumer, a stall), it
// re-anchors instead of bursting frames out to catch up.
constexpr std::chrono::milliseconds kMaxLag{1000};

class FileSource final : public Source {
 public:
  FileSource(const SourceConfig& config, std::string path, SourceEventCallback on_event)
      : config_(config), path_(std::move(path)), on_event_(std::move(on_event)) {}

  Status open() {
    Result<std::unique_ptr<VideoReader>> r = VideoReader::open(path_, reader_options());
    if (!r.is_ok()) return r.status();
    reader_ = std::move(r).value();
    fps_.store(reader_->info().fps);
    rebaser_.set_fps(reader_->info().fps);
    std::lock_guard<std::mutex> lock(stats_mutex_);
    stats_.connected = true;
    return Status::ok();
  }

  Status read(Pool& pool, VideoFrame* out) override {
    if (out == nullptr) return invalid_argument("source: read() needs a VideoFrame, got NULL");
    if (interrupter_.triggered()) return cancelled();
    if (!final_.is_ok()) return final_;
    VideoFrame frame;
    for (;;) {
      Status s = reader_->read(pool, &frame);
      if (s.is_ok()) break;
      if (s.code() == StatusCode::kEndOfStream && config_.loop && frames_since_open_ > 0) {
        VAS_RETURN_IF_ERROR(restart());
        continue;
      }
      return fail(s);
    }
    ++frames_since_open_;
    frame.ts_us = rebaser_.map(frame.pts_us);
    if (config_.realtime && !pace(frame.ts_us)) return cancelled();
    // A paced file stands in for a camera, so its frames are "captured" when they are due.
    if (config_.realtime) frame.capture_us = wall_clock_us();
    frame.index = next_index_++;
    *out = std::move(frame);
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++stats_.frames;
    stats_.skipped_packets = skipped_before_ + reader_->skipped_packets();
    stats_.damage = total_damage();
    return Status::ok();
  }

  void interrupt() override { interrupter_.trigger(); }
  double fps() const override { return fps_.load(); }
  SourceStats stats() const override {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    return stats_;
  }

 private:
  VideoReaderOptions reader_options() const {
    VideoReaderOptions o;
    o.output_format = config_.format;
    o.cancel = interrupter_.flag();
    return o;
  }

  // Starts the file again from its first frame. Reopening is simpler and more robust than
  // seeking in files with broken indexes, and a file open costs little next to a loop's length.
  Status restart() {
    const int64_t skipped = reader_->skipped_packets();
    add_damage(reader_->stats(), &damage_before_);
    reader_.reset();
    Result<std::unique_ptr<VideoReader>> r = VideoReader::open(path_, reader_options());
    if (!r.is_ok()) return fail(r.status().with_context("source: cannot loop"));
    reader_ = std::move(r).value();
    skipped_before_ += skipped;
    frames_since_open_ = 0;
    rebaser_.discontinuity();
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++stats_.loops;
    return Status::ok();
  }

  // Sleeps until the frame with output time ts_us is due; false when interrupted.
  bool pace(int64_t ts_us) {
    const Clock::time_point now = Clock::now();
    if (!anchored_) {
      anchored_ = true;
      anchor_wall_ = now;
      anchor_ts_us_ = ts_us;
      return true;
    }
    Clock::time_point due = anchor_wall_ + std::chrono::microseconds(ts_us - anchor_ts_us_);
    if (now - due > kMaxLag) {
      anchor_wall_ = now;
      anchor_ts_us_ = ts_us;
      return true;
    }
    return due <= now ? !interrupter_.triggered() : interrupter_.sleep_until(due);
  }

  static void add_damage(const VideoReaderStats& r, SourceDamage* d) {
    d->rejected_packets += static_cast<uint64_t>(r.rejected_packets);
    d->corrupt_frames += static_cast<uint64_t>(r.damaged);
    d->skipped_bytes += static_cast<uint64_t>(r.skipped_bytes);
    d->after_error += static_cast<uint64_t>(r.after_error);
    d->missing_frames += static_cast<uint64_t>(r.missing_frames);
    d->truncated = d->truncated || r.truncated;
  }
  SourceDamage total_damage() const {
    SourceDamage d = damage_before_;
    if (reader_) add_damage(reader_->stats(), &d);
    return d;
  }

  // Maps a reader error to the source's answer. The end of the file and errors are final and
  // become one event each; a damaged or truncated file first reports its damage (kDamaged),
  // so that consumers know why before they hear of the end.
  Status fail(const Status& s) {
    const StatusCode code = s.code();
    if (code == StatusCode::kCancelled) return s;
    SourceEvent damaged = make_event(SourceEvent::Kind::kDamaged, "");
    SourceEvent last = make_event(code == StatusCode::kEndOfStream ? SourceEvent::Kind::kEndOfStream
                                                                   : SourceEvent::Kind::kError,
                                  s.message());
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      if (code == StatusCode::kPoolExhausted) {
        ++stats_.pool_exhausted;
        return s;
      }
      stats_.skipped_packets = skipped_before_ + (reader_ ? reader_->skipped_packets() : 0);
      stats_.damage = total_damage();
      stats_.connected = false;
      stats_.last_cause = s.message();
      if (code == StatusCode::kEndOfStream) {
        stats_.end_reason = stats_.damage.truncated ? "truncated"
                            : stats_.damage.any()   ? "damaged"
                                                    : "complete";
        last.end_reason = stats_.end_reason;
        last.cause = stats_.end_reason + ": " + s.message();
      }
      damaged.damage = last.damage = stats_.damage;
      damaged.cause = "source '" + path_ + "': " + describe(stats_.damage);
    }
    final_ = s;  // the end, or an error the reader cannot get past: later calls repeat it
    // Events go out without the stats lock held, so a callback may read stats().
    if (on_event_) {
      if (damaged.damage.any()) on_event_(damaged);
      on_event_(last);
    }
    return s;
  }

  // "3 corrupt packet(s) or damaged frame(s) skipped (...)": the counts of a damage report.
  std::string describe(const SourceDamage& d) const {
    std::string text =
        std::to_string(d.rejected_packets + d.corrupt_frames) +
        " corrupt packet(s) or damaged frame(s) skipped (" + std::to_string(d.rejected_packets) +
        " packet(s) rejected, " + std::to_string(d.corrupt_frames) + " frame(s) flagged corrupt, " +
        std::to_string(d.skipped_bytes) + " byte(s) skipped, " + std::to_string(d.after_error) +
        " frame(s) after an error, " + std::to_string(d.missing_frames) + " frame(s) missing)";
    const int64_t expected = reader_ ? reader_->info().frame_count : -1;
    if (expected > 0 && !config_.loop) {
      text += "; " + std::to_string(stats_.frames) + " of " + std::to_string(expected) +
              " frame(s) decoded";
    }
    if (d.truncated) text += "; the file is truncated";
    return text;
  }
  Status cancelled() const {
    return Status(StatusCode::kCancelled, "source '" + path_ + "': interrupted");
  }

  const SourceConfig config_;
  const std::string path_;
  SourceEventCallback on_event_;
  Interrupter interrupter_;
  std::unique_ptr<VideoReader> reader_;
  std::atomic<double> fps_{0.0};
  TimestampRebaser rebaser_;
  int64_t next_index_ = 0;
  int64_t frames_since_open_ = 0;  // a looping file that yields no frame must not spin
  int64_t skipped_before_ = 0;     // skipped packets of the readers of earlier loops
  SourceDamage damage_before_;     // damage found by the readers of earlier loops
  Status final_;                   // set once the file has ended or failed for good
  bool anchored_ = false;
  Clock::time_point anchor_wall_;
  int64_t anchor_ts_us_ = 0;

  mutable std::mutex stats_mutex_;
  SourceStats stats_;
};

}  // namespace

Result<std::unique_ptr<Source>> open_file_source(const SourceConfig& config,
                                                 const std::string& path,
                                                 SourceEventCallback on_event) {
  auto source = std::make_unique<FileSource>(config, path, std::move(on_event));
  VAS_RETURN_IF_ERROR(source->open().with_context("source"));
  return std::unique_ptr<Source>(std::move(source));
}

}  // namespace source_detail
}  // namespace vas
