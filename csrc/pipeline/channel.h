// Internal: one pipeline channel's state (queue, pool, source, analytics, counters).
//
// Lock order: Pipeline::Impl::control_mu_ -> Impl::mu_ -> Channel::mu -> the batcher's and the
// workers' own mutexes. Nothing holds a channel's mu across a callback, a detector run or a
// source read, so one channel never waits for another.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "analytics/analytics.h"
#include "core/detection.h"
#include "core/frame.h"
#include "core/pool.h"
#include "io/annotated_video.h"
#include "io/source.h"
#include "pipeline/live_tap.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_config.h"
#include "pipeline/stats_window.h"

namespace vas {

// Why a frame was dropped; every frame a channel accepts ends up processed or dropped for
// exactly one of these.
enum class DropReason : int {
  kQueueFull = 0,      // the channel's queue was full (drop_oldest / drop_newest)
  kPoolExhausted = 1,  // no frame buffer left in the channel's pool
  kStopped = 2,        // stop() without drain, or a frame that arrived while stopping
  kRemoved = 3,        // remove_channel()
  kError = 4,          // detection or analytics failed on the frame (reported as an event)
};
constexpr int kDropReasons = 5;
const char* drop_reason_name(DropReason r);

enum class SlotState {
  kWaiting,     // queued for detection
  kInBatch,     // taken by a batcher (one per inference lane)
  kReady,       // detections known (or skipped): waiting for the channel's worker
  kProcessing,  // the worker runs analytics and callbacks on it
};

// One frame in a channel's queue. The queue keeps frame order; detection finishes out of
// order across batches, and the worker only takes the front once it is ready.
struct Slot {
  VideoFrame frame;
  bool detect = false;
  SlotState state = SlotState::kWaiting;
  std::vector<Detection> dets;
  std::string error;      // detection failed: the frame is dropped with kError
  int64_t queued_us = 0;  // steady clock, when it entered the queue
  int64_t ready_us = 0;   // steady clock, when detection finished (or it was queued if skipped)
  uint64_t epoch = 0;     // the channel's reconnect count when the frame was admitted
};
using SlotPtr = std::shared_ptr<Slot>;

struct Channel : std::enable_shared_from_this<Channel> {
  explicit Channel(ChannelConfig c)
      : cfg(std::move(c)), live(std::make_shared<LiveTap>(cfg.id, cfg.annotate_trail_frames)) {}
  // Frames go back to their pools before the pools go; live viewers learn the channel is gone.
  ~Channel() {
    live->close();
    q.clear();
  }

  ChannelConfig cfg;

  // --- guarded by mu ---
  std::mutex mu;
  std::condition_variable cv;  // queue space, idle, flush done
  std::deque<SlotPtr> q;
  size_t queued = 0;       // slots in kWaiting or kReady (the bounded part of q)
  int in_batch = 0;        // slots the batchers hold
  bool scheduled = false;  // on the run queue or being processed by a worker
  bool accepting = false;  // takes new frames (false before start, while stopping, removed)
  bool discard = false;    // frames coming back from a batcher are dropped (stop/remove)
  DropReason discard_reason = DropReason::kStopped;
  bool flush_requested = false, flushed = false;
  bool remove_requested = false;  // remove_channel() from a callback; the reaper finishes it
  std::vector<PipelineEvent> pending_events;  // source events, delivered by the worker
  int64_t next_index = 0;
  int64_t last_ts_us = INT64_MIN;
  std::string state = "created";
  int push_width = 0, push_height = 0;  // fixed by the first pushed frame

  // --- the frame pool: decode thread (source channels) or push_mu holders (push channels) ---
  std::mutex push_mu;  // one push_frame() at a time per channel (index and pts order)
  // `pool` is replaced only by its user (above) and only under pool_mu, so stats() may read
  // it under pool_mu while the user reads it without.
  std::mutex pool_mu;
  std::unique_ptr<Pool> pool;
  std::vector<std::unique_ptr<Pool>> retired_pools;  // still backing frames in flight

  // --- source and decode thread ---
  std::thread decode_thread;
  std::atomic<bool> decode_stop{false};
  std::mutex source_mu;  // guards `source` for interrupt() from control threads
  std::unique_ptr<Source> source;

  // --- analytics: only the thread that holds `scheduled` (a worker, or update_rules) ---
  std::unique_ptr<Analytics> analytics;
  AnalyticsOutput out;
  // The last frame analysed: a frame of another epoch, or later by more than max_gap_s, ends
  // the tracks first (a source gap).
  uint64_t last_epoch = 0;
  int64_t last_analysed_ts_us = INT64_MIN;
  FrameResult result;
  std::unique_ptr<AnnotatedVideo> annotated;  // opened at the first frame (its size)
  // The live view; shared with readers waiting in live_frame(), which may outlast the channel.
  std::shared_ptr<LiveTap> live;
  std::map<std::string, uint64_t> rule_event_counts;  // for the annotated video's text
  RulesConfig pending_rules;  // guarded by mu: applied by the worker before the next frame
  bool has_pending_rules = false;
  // Guarded by mu: the rules set by update_rules(), re-applied when the channel restarts.
  std::optional<RulesConfig> rules_override;

  // --- counters (any thread) ---
  std::atomic<uint64_t> decoded{0}, processed{0}, events{0}, reconnects{0};
  std::array<std::atomic<uint64_t>, kDropReasons> dropped{};
  LatencyWindow latency;  // capture -> result delivered
  RateMeter rate;

  uint64_t dropped_total() const {
    uint64_t n = 0;
    for (const auto& d : dropped) n += d.load();
    return n;
  }
  void count_drop(DropReason r, uint64_t n = 1) { dropped[static_cast<size_t>(r)] += n; }
  void reset_counters() {
    decoded = processed = events = reconnects = 0;
    for (auto& d : dropped) d = 0;
    latency.reset();
    rate.reset();
  }
};
using ChannelPtr = std::shared_ptr<Channel>;

}  // namespace vas
