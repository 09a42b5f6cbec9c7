// Pipeline: N channels (files, RTSP cameras, pushed frames) -> shared batched detection ->
// per-channel analytics (tracker -> best shot -> associator -> rules) -> results and events.
//
//  source[ch] -> decode thread[ch] -> frame queue[ch] (bounded, drop policy) -> batcher (all
//  channels, <= max_batch frames or max_wait_ms) -> Detector::detect_batch -> analytics task
//  queue[ch] -> worker pool (one worker per channel at a time, frame order) -> callbacks.
//
// Memory: every channel owns a frame pool whose capacity (pool_frames frames) is its hard memory
// bound; a frame's block returns to the pool when the last stage lets go of it.
// Overload: each channel's queue is bounded ("queue" frames) and its policy decides what goes
// when it is full: drop_oldest (default; latency stays bounded), drop_newest, or block (files
// and pushed frames only: the producer waits, with a stop signal). Every dropped frame is
// counted by reason, so per channel decoded == processed + dropped at any quiescent point and
// always after stop().
//
// Thread safety: every method may be called from any thread, except set_*_callback (before
// start()). Callbacks run on an analytics worker thread, one call at a time per channel, in
// frame order; their arguments are borrowed for the duration of the call. stop(), and
// remove_channel() of the callback's own channel, called from inside a callback return
// kInvalidArgument instead of waiting for themselves. Destroying the pipeline from its own callback
// is an error: callers that can report one (the C API) check in_callback_thread() first and refuse;
// the destructor itself, if reached there anyway, does not deadlock: it stops everything, and the
// calling worker's last references are released when that callback returns. Ownership: the Pipeline
// owns all of its threads, sources, pools and models; all threads are joined by stop() and by the
// destructor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/status.h"
#include "sinks/sink.h"

namespace vas {

// One tracked object on one frame, in source-image pixels.
struct ObjectResult {
  int64_t track_id = -1;
  int class_id = 0;
  float score = 0;
  float box[4] = {0, 0, 0, 0};  // x1, y1, x2, y2
  int num_landmarks = 0;
  float landmarks[10] = {};
  int64_t parent_track_id = -1;  // set by the associator (e.g. the body a face belongs to)
};

// The outcome of one frame of one channel.
struct FrameResult {
  std::string channel;
  int64_t frame = 0;       // 0-based index of the frame within the channel (decoded or pushed)
  int64_t pts_us = 0;      // the source's presentation time
  int64_t capture_us = 0;  // wall clock (system_clock, us since epoch) when decoded or pushed
  int64_t ts_us = 0;       // analytics time: per channel never goes backwards
  bool detected = false;   // false on frames that skipped detection (detect_interval)
  std::vector<ObjectResult> objects;
};

struct PipelineEvent {
  std::string channel;
  // "rule", "best_shot", "track_start", "track_end", "source",
  // "cluster" (scale-out through a Kafka consumer group: this node took or gave up the channel),
  // "sink" (channel "": a sink lost or regained its broker or file; delivered on that sink's
  // own thread, the only event not delivered by a channel's worker; those from before the
  // first start() are delivered by start() on its caller's thread, after its locks)
  std::string kind;
  // rule: the rule event (cross_in, cross_out, enter, exit, loiter, crowd...); source:
  // connected, disconnected, reconnected, end_of_stream, error; best_shot: track_ended,
  // interval, flush; cluster: assigned, revoked; sink: disconnected, reconnected.
  std::string subkind;
  std::string rule_id;
  int64_t track_id = -1;
  int class_id = -1;
  // media_us, except for "source" and "sink" events, where it is the wall clock of the
  // occurrence (as it always was; new code reads media_us and wall_us).
  int64_t ts_us = 0;
  // The channel's media time (analytics time of its frames) the event belongs to; for source
  // events the last frame's before it (0 before any). Set by the pipeline when delivered.
  int64_t media_us = 0;
  int64_t wall_us = 0;  // wall clock (us since the epoch) when the event was delivered
  std::string message;
  int64_t best_shot_id = -1;
  // Best-shot events: the crop (BGR24) and its JPEG bytes when the channel asked for them
  // (best_shot.jpeg). Borrowed for the duration of the callback: copy the pixels to keep them
  // (the crop's block belongs to the channel's unlocked best-shot pool).
  PooledImage crop;
  std::vector<uint8_t> jpeg;
  float quality = 0;
};

struct StageStats {
  double fps = 0;  // frames per second through the stage over the last few seconds
  double latency_p50_ms = 0, latency_p99_ms = 0;  // time spent in the stage (incl. queueing)
  size_t queue_depth = 0;                         // frames waiting for the stage now
};

struct ChannelStats {
  std::string id;
  std::string state;       // created, running, draining, stopped, disconnected, ended, error
  uint64_t decoded = 0;    // frames decoded or pushed (accepted by the channel)
  uint64_t processed = 0;  // frames delivered through the result callback (or processed)
  uint64_t dropped = 0;    // sum of dropped_by_reason
  // queue_full, pool_exhausted, stopped, removed, error
  std::map<std::string, uint64_t> dropped_by_reason;
  uint64_t reconnects = 0;
  uint64_t events = 0;
  double fps = 0;                                 // processed frames per second
  double latency_p50_ms = 0, latency_p99_ms = 0;  // capture -> result delivered
  size_t queue_depth = 0;
  // Frame pool: bytes of frames out now, held from the allocator (cached + out), and the bound.
  size_t pool_in_use_bytes = 0, pool_reserved_bytes = 0, pool_capacity_bytes = 0;
  int live_viewers = 0;      // viewers of the live view now (live_watch)
  uint64_t live_frames = 0;  // live JPEGs drawn and encoded (none while nobody watches)
};

// Where the CPU goes, in ms of CPU time per delivered frame since start() (frozen at stop).
// Each stage is the CPU time of the pipeline's own threads in it: decode (demux, decode,
// colour conversion, queueing), preprocess, inference (the calling thread's share only),
// postprocess (output decoding and NMS), analytics (tracking, rules, best shots), delivery
// (result and event callbacks, sink queueing) and annotate (drawing and encoding annotated
// video). `other` is the rest of the process: the inference runtime's worker threads, sink
// threads, the application's own threads; so the stages and `other` add up to `process`.
struct CpuStats {
  uint64_t frames = 0;  // frames delivered since start(): the divisor
  double decode = 0, preprocess = 0, inference = 0, postprocess = 0, analytics = 0, delivery = 0,
         annotate = 0, other = 0, process = 0;
};

struct PipelineStats {
  std::vector<ChannelStats> channels;
  StageStats decode, inference, analytics;
  CpuStats cpu_ms_per_frame;
  int inference_lanes = 1;      // batches in inference at once (inference.in_flight)
  int inference_max_batch = 1;  // frames per detector run at most (inference.max_batch, resolved)
  // The engine that runs: "ort 1.32.0", "openvino 2026.4.1"; for "backend": "auto" the first
  // note says what was chosen and why (Engine::notes()).
  std::string inference_backend;
  std::vector<std::string> inference_notes;
  double batch_mean = 0;  // mean frames per detector batch
  uint64_t batches = 0;
  std::vector<SinkStats> sinks;  // the configured sinks: delivered, dropped by reason, outages
};

// One JPEG of a channel's live view (see live_watch()): the frame with its tracks, rule geometry
// and counts drawn on it. The bytes are shared and never change.
struct LiveFrame {
  std::shared_ptr<const std::vector<uint8_t>> jpeg;
  uint64_t seq = 0;        // increases with every JPEG of the channel
  int64_t frame = 0;       // the channel's frame index
  int64_t capture_us = 0;  // wall clock when the frame was decoded or pushed
  int width = 0, height = 0;
};

class Pipeline {
 public:
  // Parses and validates the JSON config (errors name the field, e.g. "channels[1].policy"),
  // loads the detector and builds the channels. Sources are opened by start().
  static Result<std::unique_ptr<Pipeline>> create(const std::string& config_json);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Before start(); kInvalidArgument afterwards (the callbacks are read without a lock).
  Status set_result_callback(std::function<void(const FrameResult&)> cb);
  Status set_event_callback(std::function<void(const PipelineEvent&)> cb);

  // Opens the sources and starts the threads. A camera that cannot connect is not an error: it
  // reports a "source"/"disconnected" event and keeps retrying. Starting a running pipeline is
  // kInvalidArgument. A stopped pipeline may be started again (channels start from scratch).
  Status start();
  // drain = true: stop the sources, finish every queued frame, flush the analytics (final
  // best shots and track ends), then join. drain = false: drop queued frames (counted as
  // "stopped") and return within about 1 s even if a source is stuck connecting.
  // Stopping a stopped pipeline is OK. From a callback thread: kInvalidArgument.
  Status stop(bool drain);

  // Adds a channel (the same JSON object as an element of "channels"); it starts at once when
  // the pipeline runs. Errors: bad config (naming the field), duplicate id.
  Status add_channel(const std::string& channel_json);
  // Stops the channel (its queued frames are dropped as "removed"), joins its decode thread,
  // forgets it and emits its last event, "channel"/"removed", whose message is its final
  // counters as JSON (the object of stats_json's "channels"), on the calling thread; those
  // counters also go to *final_stats when given. From another channel's callback it stops the
  // channel's intake at once and returns; the removal finishes on a pipeline thread after the
  // callback returns (*final_stats is not filled then: the event carries them). kNotFound for
  // an unknown id; kInvalidArgument from that channel's own callback.
  Status remove_channel(const std::string& channel_id, ChannelStats* final_stats = nullptr);
  // Replaces the rules of a channel: a rules object as in "analytics": {"rules": {...}}
  // ({"rules": [...], "forget_after_s": ...}). Validated here (errors name the field); the
  // channel's worker applies them before its next frame (at once when called from that
  // channel's own callback). They survive stop()/start().
  Status update_rules(const std::string& channel_id, const std::string& rules_json);

  // Queues one frame on a "push": true channel. With `release` empty the image is copied into
  // the channel's pool; otherwise the pipeline borrows the pixels and calls release() exactly
  // once (on some pipeline thread, or before push_frame returns on error or drop) when it is
  // done with them. Errors: unknown channel (kNotFound), not a push channel, not running,
  // format/size different from the channel's (kInvalidArgument), pool exhausted under
  // drop_newest (kPoolExhausted, counted). pts_us must not go backwards.
  Status push_frame(const std::string& channel_id, const ImageView& image, int64_t pts_us,
                    std::function<void()> release);

  // Live view. While a channel has at least one viewer (live_watch(id, true), undone by
  // live_watch(id, false)), its analysed frames are drawn and encoded to JPEG on a thread of
  // the channel's own, as fast as that thread keeps up and never faster than the channel;
  // frames it cannot take are skipped, never the channel's. With no viewer nothing is drawn or
  // encoded. live_frame() returns the newest JPEG newer than after_seq, waiting up to
  // timeout_ms (0..60000) for it: kTimeout when none came, kNotFound for an unknown or removed
  // channel, kInvalidArgument for a bad timeout or a watch(false) without a viewer.
  Status live_watch(const std::string& channel_id, bool on);
  Result<LiveFrame> live_frame(const std::string& channel_id, uint64_t after_seq, int timeout_ms);

  // A snapshot; any thread, any time.
  PipelineStats stats() const;

  // True on a thread that is running one of this pipeline's callbacks right now.
  bool in_callback_thread() const;

  class Impl;

 private:
  explicit Pipeline(std::shared_ptr<Impl> impl);
  // Shared with the analytics workers, so a pipeline destroyed from its own callback stays
  // alive until that callback has returned.
  std::shared_ptr<Impl> impl_;
};

}  // namespace vas
