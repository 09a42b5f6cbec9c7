// VideoFrame: one decoded or pushed video frame that owns its pixels, so it can be handed from
// the thread that produced it to the stages that consume it.
//
// Ownership: the pixels live either in a pool block (`buffer`, decoded frames) or in memory the
// application lent us (`external`, pushed zero-copy frames, whose deleter calls the
// application's release function exactly once). `view` borrows from whichever of the two is set,
// so it stays valid for as long as any copy of the frame is alive. Copies share the pixels;
// treat them as read-only once the frame has been handed on.
// Thread safety: a VideoFrame is a value. Distinct copies may be used and destroyed on different
// threads, provided the pool behind `buffer` is a locked pool (PoolConfig::thread_safe) and the
// application's release function may run on any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "core/image.h"
#include "core/pool.h"
#include "core/status.h"

namespace vas {

// Wall-clock time in microseconds since the Unix epoch (std::chrono::system_clock): the unit of
// VideoFrame::capture_us, comparable across processes and machines.
int64_t wall_clock_us();

struct VideoFrame {
  ImageView view;                  // borrows from `buffer` or from `external`
  PoolBuffer buffer;               // ref-counted pool block (decoded frames)
  std::shared_ptr<void> external;  // pushed zero-copy frames: the deleter calls the release
  int channel = -1;                // pipeline channel index (set by the pipeline)
  int64_t index = 0;               // 0-based frame number within the channel (or source)
  int64_t pts_us = 0;              // the source's presentation time
  int64_t capture_us = 0;          // wall_clock_us() when the frame was decoded or pushed
  int64_t ts_us = 0;               // output timestamp: per channel it never goes backwards
  // Read ahead of real time from a backlog the source had buffered (a camera's connect burst):
  // a consumer may hold it for queue space instead of dropping it, since holding it only slows
  // the catch-up and the frames behind it wait in the socket, not in memory.
  bool backlog = false;

  // True when the frame holds no pixels.
  bool empty() const { return !buffer && !external; }
  // Releases the pixels (the pool block or the application's buffer) and clears every field.
  void reset() { *this = VideoFrame(); }

  // A frame over a pooled image; the pixels stay in the image's pool block.
  static VideoFrame from_pooled(PooledImage image);
  // A zero-copy frame over memory owned by the application. `release` runs exactly once, when
  // the last copy of the frame is destroyed, on whichever thread that happens. Errors:
  // kInvalidArgument for an invalid view or an empty `release` (then `release` is not called;
  // use copy_of() for memory that cannot be lent).
  static Result<VideoFrame> wrap_external(const ImageView& view, std::function<void()> release);
  // A frame holding a copy of `view` in a block from `pool`, rows padded to `row_align` bytes.
  // Errors: kInvalidArgument for an invalid view, PooledImage::allocate()'s errors (notably
  // kPoolExhausted, which leaves nothing acquired).
  static Result<VideoFrame> copy_of(Pool& pool, const ImageView& view, int row_align = 64);
};

}  // namespace vas
