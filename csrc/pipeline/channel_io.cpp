// The producer side of a channel: its decode thread, pushed frames, queue admission under the
// drop policy, and the channel's frame pool.
#include <atomic>
#include <chrono>
#include <cstring>

#include "core/cpu_time.h"
#include "pipeline/pipeline_impl.h"

namespace vas {
namespace {

// The longest one backlog frame waits for queue space before the drop policy applies.
constexpr std::chrono::milliseconds kBacklogHold{500};

// A pool sized before the first frame is known: size classes up to 256 MiB and room for one
// frame. The channel's real pool (pool_frames blocks of exactly the frame's size) is created
// from the first frame's size; this one stays alive until that first frame is released.
Result<std::unique_ptr<Pool>> probe_pool(const std::string& id) {
  PoolConfig pc;
  pc.name = "channel '" + id + "' first frame";
  pc.min_block = size_t{64} << 10;
  pc.max_block = size_t{256} << 20;
  pc.capacity_bytes = size_t{256} << 20;
  return Pool::create(pc);
}

// Retires pools whose last frame has gone.
void trim_retired(Channel& ch) {
  auto& r = ch.retired_pools;
  for (size_t i = 0; i < r.size();) {
    if (r[i]->outstanding() == 0) {
      r.erase(r.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

// After a frame from the probe pool: the channel's bounded pool of blocks of that size.
Status size_pool_from(Channel& ch, size_t frame_bytes) {
  VAS_ASSIGN_OR_RETURN(
      std::unique_ptr<Pool> p,
      Pool::create_block_pool("channel '" + ch.cfg.id + "' frames", frame_bytes,
                              static_cast<size_t>(ch.cfg.pool_frames), /*thread_safe=*/true));
  std::lock_guard<std::mutex> lock(ch.pool_mu);
  if (ch.pool) ch.retired_pools.push_back(std::move(ch.pool));
  ch.pool = std::move(p);
  return Status::ok();
}

// A final error of the channel's own (not the source's) in the source's event form.
SourceEvent source_error(const std::string& cause) {
  SourceEvent e;
  e.kind = SourceEvent::Kind::kError;
  e.cause = cause;
  e.wall_us = wall_us();
  return e;
}

}  // namespace

const char* drop_reason_name(DropReason r) {
  switch (r) {
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kPoolExhausted:
      return "pool_exhausted";
    case DropReason::kStopped:
      return "stopped";
    case DropReason::kRemoved:
      return "removed";
    case DropReason::kError:
      return "error";
  }
  return "?";
}

bool Pipeline::Impl::drop_oldest_locked(Channel& ch, DropReason reason) {
  for (auto it = ch.q.begin(); it != ch.q.end(); ++it) {
    const SlotState s = (*it)->state;
    if (s == SlotState::kWaiting || s == SlotState::kReady) {
      ch.q.erase(it);
      --ch.queued;
      ch.count_drop(reason);
      return true;
    }
  }
  return false;
}

void Pipeline::Impl::queue_source_event(Channel& ch, PipelineEvent ev) {
  std::lock_guard<std::mutex> lock(ch.mu);
  ch.pending_events.push_back(std::move(ev));
  maybe_schedule_locked(ch);
}

bool Pipeline::Impl::admit(const ChannelPtr& chp, VideoFrame frame, DropReason* dropped_for) {
  Channel& ch = *chp;
  std::unique_lock<std::mutex> lock(ch.mu);
  ch.decoded++;
  frame.index = ch.next_index++;
  // Output time never goes backwards within a channel (pushed pts may repeat or jump back).
  if (frame.ts_us == 0) frame.ts_us = frame.pts_us;
  if (ch.last_ts_us != INT64_MIN && frame.ts_us < ch.last_ts_us) frame.ts_us = ch.last_ts_us;
  ch.last_ts_us = frame.ts_us;
  auto drop = [&](DropReason r) {
    ch.count_drop(r);
    if (dropped_for) *dropped_for = r;
    return false;  // `frame` (and a borrowed frame's release) goes when we return
  };
  if (!ch.accepting) return drop(ch.discard ? ch.discard_reason : DropReason::kStopped);
  const size_t cap = static_cast<size_t>(ch.cfg.queue);
  // A backlog frame (a camera's connect burst, ahead of real time) waits a while for space
  // under the drop policies: the burst then drains at the consumer's pace instead of
  // overflowing the queue. The source stops marking frames once it has fallen back to real
  // time, so holding never builds latency beyond the burst itself.
  const auto hold_until = std::chrono::steady_clock::now() + kBacklogHold;
  while (ch.queued >= cap) {
    if (frame.backlog && ch.cfg.policy != DropPolicy::kBlock &&
        ch.cv.wait_until(lock, hold_until) == std::cv_status::no_timeout) {
      if (!ch.accepting) return drop(ch.discard ? ch.discard_reason : DropReason::kStopped);
      continue;
    }
    if (!ch.accepting) return drop(ch.discard ? ch.discard_reason : DropReason::kStopped);
    if (ch.cfg.policy == DropPolicy::kDropOldest) {
      drop_oldest_locked(ch, DropReason::kQueueFull);
    } else if (ch.cfg.policy == DropPolicy::kDropNewest) {
      return drop(DropReason::kQueueFull);
    } else {
      // block: the stop signal is `accepting`; the timeout only re-checks it.
      ch.cv.wait_for(lock, std::chrono::milliseconds(50));
      if (!ch.accepting) return drop(ch.discard ? ch.discard_reason : DropReason::kStopped);
    }
  }
  auto slot = std::make_shared<Slot>();
  slot->detect = frame.index % ch.cfg.detect_interval == 0;
  slot->frame = std::move(frame);
  slot->queued_us = steady_us();
  slot->epoch = ch.reconnects.load();
  slot->state = slot->detect ? SlotState::kWaiting : SlotState::kReady;
  if (!slot->detect) slot->ready_us = slot->queued_us;
  const bool detect = slot->detect;
  ch.q.push_back(std::move(slot));
  ++ch.queued;
  decode_rate_.add();
  // A drop above may have uncovered a ready slot at the front.
  maybe_schedule_locked(ch);
  if (detect) {
    lock.unlock();
    notify_batcher();
  }
  return true;
}

void Pipeline::Impl::decode_loop(const ChannelPtr& chp) {
  Channel& ch = *chp;
  // Damage reported so far, as the source's skipped_packets count: a file's final "damaged"
  // event (sent by the source before end_of_stream) covers all of it, so the periodic report
  // below does not repeat it after the end.
  auto damage_reported = std::make_shared<std::atomic<uint64_t>>(0);
  auto on_event = [this, chp, damage_reported](const SourceEvent& e) {
    if (e.kind == SourceEvent::Kind::kReconnected) chp->reconnects++;
    if (e.kind == SourceEvent::Kind::kDamaged) {
      damage_reported->store(e.damage.rejected_packets + e.damage.corrupt_frames);
    }
    PipelineEvent ev;
    ev.channel = chp->cfg.id;
    ev.kind = "source";
    ev.subkind = source_event_kind_name(e.kind);
    ev.message = e.cause;
    ev.ts_us = e.wall_us;
    {
      std::lock_guard<std::mutex> lock(chp->mu);
      if (e.kind == SourceEvent::Kind::kDisconnected) chp->state = "disconnected";
      if (e.kind == SourceEvent::Kind::kConnected || e.kind == SourceEvent::Kind::kReconnected) {
        chp->state = "running";
      }
    }
    queue_source_event(*chp, std::move(ev));
  };
  auto opened = open_source(ch.cfg.source, on_event);
  if (!opened.is_ok()) {
    {
      std::lock_guard<std::mutex> lock(ch.mu);
      ch.state = "error";
    }
    on_event(source_error(opened.status().message()));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(ch.source_mu);
    ch.source = std::move(opened).value();
  }
  // A stop() that came while the source was opening missed it; interrupt ourselves.
  if (ch.decode_stop) ch.source->interrupt();
  Source& src = *ch.source;
  std::unique_ptr<Pool> probe;
  int64_t damage_event_us = steady_us() - 1000000;
  while (!ch.decode_stop) {
    trim_retired(ch);
    Pool* pool = ch.pool.get();
    if (!pool) {
      if (!probe) {
        auto p = probe_pool(ch.cfg.id);
        if (!p.is_ok()) {
          on_event(source_error(p.status().message()));
          break;
        }
        probe = std::move(p).value();
      }
      pool = probe.get();
    }
    VideoFrame f;
    const int64_t t0 = steady_us();
    const uint64_t cpu0 = thread_cpu_ns();
    Status st = src.read(*pool, &f);
    // Damage the decoder skipped (corrupt packets, concealed frames) is an event, at most one
    // a second per channel; the count itself is in the source's stats.
    const uint64_t skipped = src.stats().skipped_packets;
    const uint64_t reported = damage_reported->load();
    if (st.is_ok() && skipped > reported && steady_us() - damage_event_us >= 1000000) {
      PipelineEvent ev;
      ev.channel = ch.cfg.id;
      ev.kind = "source";
      ev.subkind = "damaged";
      ev.message = std::to_string(skipped - reported) +
                   " corrupt packet(s) or damaged frame(s) skipped (" + std::to_string(skipped) +
                   " in all)";
      queue_source_event(ch, std::move(ev));
      damage_reported->store(skipped);
      damage_event_us = steady_us();
    }
    if (st.is_ok()) {
      decode_lat_.add(static_cast<double>(steady_us() - t0) / 1000.0);
      if (f.capture_us == 0) f.capture_us = wall_us();
      f.channel = -1;
      if (pool == probe.get()) {
        Status s = size_pool_from(ch, f.buffer ? f.buffer.size() : 0);
        if (!s.is_ok()) {
          on_event(source_error(s.message()));
          break;
        }
        ch.retired_pools.push_back(std::move(probe));
      }
      admit(chp, std::move(f));
      add_cpu(kCpuDecode, thread_cpu_ns() - cpu0);
      continue;
    }
    switch (st.code()) {
      case StatusCode::kTimeout:
        continue;  // the source is reconnecting; check the stop flag and read again
      case StatusCode::kPoolExhausted: {
        // Nothing was consumed. A frame bigger than the pool's blocks (the stream changed
        // size) can never fit: size a new pool from the next frame.
        if (ch.pool && ch.pool->outstanding() == 0) {
          std::lock_guard<std::mutex> lock(ch.pool_mu);
          ch.retired_pools.push_back(std::move(ch.pool));
          continue;
        }
        std::unique_lock<std::mutex> lock(ch.mu);
        if (ch.cfg.policy == DropPolicy::kDropOldest &&
            drop_oldest_locked(ch, DropReason::kPoolExhausted)) {
          maybe_schedule_locked(ch);
          continue;
        }
        // Every buffer is in a batch or being analysed (or the policy keeps queued frames):
        // wait for one to come back.
        ch.cv.wait_for(lock, std::chrono::milliseconds(5));
        continue;
      }
      case StatusCode::kCancelled:
        break;  // interrupt(): stop() or remove_channel()
      case StatusCode::kEndOfStream: {
        std::lock_guard<std::mutex> lock(ch.mu);
        ch.state = "ended";
        // Flush the analytics once the queue has drained: final best shots and track ends.
        ch.flush_requested = true;
        maybe_schedule_locked(ch);
        break;
      }
      default: {
        // A final error: the source has reported it as a kError event already (once).
        std::lock_guard<std::mutex> lock(ch.mu);
        if (!ch.decode_stop) ch.state = "error";
        break;
      }
    }
    break;
  }
  // The source is closed on the thread that used it; a concurrent interrupt() holds source_mu.
  std::lock_guard<std::mutex> lock(ch.source_mu);
  ch.source.reset();
}

Status Pipeline::Impl::push_frame(const std::string& id, const ImageView& image, int64_t pts_us,
                                  std::function<void()> release) {
  // release() must run exactly once, on every path.
  struct ReleaseGuard {
    std::function<void()>* fn;
    ~ReleaseGuard() {
      if (fn && *fn) (*fn)();
    }
  } guard{&release};
  ChannelPtr chp = find(id);
  if (!chp) return not_found("push_frame: no channel '" + id + "'");
  Channel& ch = *chp;
  if (!ch.cfg.push) {
    return invalid_argument("push_frame: channel '" + id +
                            "' reads its source; set \"push\": true");
  }
  VAS_RETURN_IF_ERROR(image.validate().with_context("push_frame: channel '" + id + "'"));
  if (image.format != ch.cfg.push_format) {
    return invalid_argument(std::string("push_frame: channel '") + id + "' takes " +
                            pixel_format_name(ch.cfg.push_format) + " frames, got " +
                            pixel_format_name(image.format));
  }
  std::lock_guard<std::mutex> push_lock(ch.push_mu);
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    if (!ch.accepting) return invalid_argument("push_frame: channel '" + id + "' is not running");
    if (ch.push_width == 0) {
      ch.push_width = image.width;
      ch.push_height = image.height;
    } else if (image.width != ch.push_width || image.height != ch.push_height) {
      return invalid_argument("push_frame: channel '" + id + "' frames are " +
                              std::to_string(ch.push_width) + "x" + std::to_string(ch.push_height) +
                              ", got " + std::to_string(image.width) + "x" +
                              std::to_string(image.height));
    }
  }
  VideoFrame f;
  f.pts_us = pts_us;
  f.capture_us = wall_us();
  if (release) {
    // Zero copy: the frame borrows the caller's pixels until its last stage lets go.
    auto fn = std::make_shared<std::function<void()>>(std::move(release));
    guard.fn = nullptr;
    f.external = std::shared_ptr<void>(nullptr, [fn](void*) { (*fn)(); });
    f.view = image;
    return admitted(chp, std::move(f));
  }
  trim_retired(ch);
  Result<PooledImage> img = invalid_argument("unset");
  for (int attempt = 0;; ++attempt) {
    if (!ch.pool) {
      auto probe = probe_pool(id);
      if (!probe.is_ok()) return probe.status();
      img = PooledImage::allocate(*probe.value(), image.format, image.width, image.height);
      if (img.is_ok()) {
        VAS_RETURN_IF_ERROR(size_pool_from(ch, img.value().buffer.size()));
        ch.retired_pools.push_back(std::move(probe).value());
      }
    } else {
      img = PooledImage::allocate(*ch.pool, image.format, image.width, image.height);
    }
    if (img.is_ok() || img.status().code() != StatusCode::kPoolExhausted) break;
    std::unique_lock<std::mutex> lock(ch.mu);
    if (ch.cfg.policy == DropPolicy::kDropOldest &&
        drop_oldest_locked(ch, DropReason::kPoolExhausted)) {
      maybe_schedule_locked(ch);
      continue;
    }
    if (ch.cfg.policy == DropPolicy::kBlock && ch.accepting) {
      ch.cv.wait_for(lock, std::chrono::milliseconds(20));
      continue;
    }
    // drop_newest, or nothing to evict: the pushed frame is the one dropped.
    ch.decoded++;
    ch.next_index++;
    ch.count_drop(DropReason::kPoolExhausted);
    return Status(StatusCode::kPoolExhausted,
                  "push_frame: channel '" + id + "' has no free frame buffer (pool_frames " +
                      std::to_string(ch.cfg.pool_frames) + "); the frame was dropped");
  }
  if (!img.is_ok()) return img.status().with_context("push_frame: channel '" + id + "'");
  PooledImage& dst = img.value();
  for (int p = 0; p < plane_count(image.format); ++p) {
    const size_t row = static_cast<size_t>(plane_row_bytes(image.format, p, image.width));
    const int rows = plane_rows(image.format, p, image.height);
    for (int y = 0; y < rows; ++y) {
      std::memcpy(dst.plane(p) + static_cast<size_t>(y) * dst.view.strides[p],
                  image.planes[p] + static_cast<size_t>(y) * image.strides[p], row);
    }
  }
  f.view = dst.view;
  f.buffer = std::move(dst.buffer);
  return admitted(chp, std::move(f));
}

Status Pipeline::Impl::admitted(const ChannelPtr& chp, VideoFrame frame) {
  DropReason why = DropReason::kQueueFull;
  if (admit(chp, std::move(frame), &why)) return Status::ok();
  const std::string& id = chp->cfg.id;
  if (why == DropReason::kQueueFull) {
    return Status(StatusCode::kPoolExhausted, "push_frame: channel '" + id +
                                                  "' queue is full (queue " +
                                                  std::to_string(chp->cfg.queue) +
                                                  ", policy drop_newest); the frame was dropped");
  }
  return invalid_argument("push_frame: channel '" + id + "' stopped (" + drop_reason_name(why) +
                          ") while the frame was pushed; the frame was dropped");
}

}  // namespace vas
