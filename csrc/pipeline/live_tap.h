// LiveTap: the live picture of one channel, made only while someone watches it.
//
// The channel's worker asks wants_frame() after each analysed frame: one atomic load when
// nobody watches, so an unwatched channel pays nothing. While watched, and only when the tap's
// own thread is free, the worker hands over a copy of the frame (converted to BGR) with what to
// draw on it; the tap's thread draws the annotations and encodes a JPEG (libjpeg-turbo), and
// readers wait in next() for a newer one than they have. A frame offered while the thread is
// still busy is skipped, and readers always get the newest JPEG, so a slow encoder or a slow
// viewer drops frames of the live view, never frames of the camera.
//
// Thread safety: every method may be called from any thread; wants_frame()/offer() are meant
// for the channel's worker (one at a time). Ownership: the tap owns its thread, which starts
// with the first viewer and is joined by close() or the destructor.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/image.h"
#include "core/status.h"
#include "io/frame_annotator.h"
#include "pipeline/pipeline.h"
#include "select/jpeg.h"

namespace vas {

// What the worker knows about the frame it offers: drawn by the tap's thread.
struct LiveOverlay {
  std::vector<AnnotatedObject> objects;
  AnnotationOverlay geometry;
  std::vector<std::string> hud;
  int64_t frame = 0;
  int64_t capture_us = 0;
};

class LiveTap {
 public:
  explicit LiveTap(std::string channel, int trail_frames = 20, int jpeg_quality = 80);
  ~LiveTap();
  LiveTap(const LiveTap&) = delete;
  LiveTap& operator=(const LiveTap&) = delete;

  // One more (on) or one fewer (off) viewer. The last viewer leaving forgets the last JPEG,
  // so the next one never starts on a stale picture. Errors: "off" with no viewer
  // (kInvalidArgument), a closed tap (kNotFound).
  Status watch(bool on);
  int viewers() const { return viewers_.load(std::memory_order_relaxed); }

  // The worker: true while someone watches and the tap's thread can take a frame now.
  bool wants_frame() const {
    return viewers_.load(std::memory_order_relaxed) > 0 &&
           !pending_.load(std::memory_order_acquire);
  }
  // The worker: copies `image` (any format copy_crop_bgr takes) and returns at once.
  void offer(const ImageView& image, LiveOverlay overlay);

  // The newest JPEG with seq > after_seq, waiting up to timeout_ms for one. Errors: kTimeout
  // when none came, kNotFound once the channel is gone (close()).
  Result<LiveFrame> next(uint64_t after_seq, int timeout_ms);

  // The channel is gone: wakes every reader (kNotFound) and joins the thread. Idempotent.
  void close();

  // JPEGs encoded since creation (tests and benchmarks check that nobody watching means none).
  uint64_t encoded() const { return encoded_.load(std::memory_order_relaxed); }

 private:
  void encode_loop();

  const std::string channel_;
  const int jpeg_quality_;
  std::atomic<int> viewers_{0};
  std::atomic<bool> pending_{false};  // a frame waits for the thread (or is being drawn)
  std::atomic<uint64_t> encoded_{0};

  std::mutex mu_;
  std::condition_variable work_cv_;   // the thread: a frame was offered, or stop
  std::condition_variable frame_cv_;  // readers: a new JPEG, or closed
  Image offered_;                     // guarded by mu_
  LiveOverlay offered_overlay_;       // guarded by mu_
  LiveFrame latest_;                  // guarded by mu_
  uint64_t seq_ = 0;                  // guarded by mu_
  bool stop_ = false, closed_ = false;
  std::thread thread_;

  // The thread's own.
  FrameAnnotator annotator_;
  JpegEncoder jpeg_;
  Image work_;
};

}  // namespace vas
