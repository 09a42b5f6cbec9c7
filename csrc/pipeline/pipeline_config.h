// The pipeline's JSON configuration: models, inference batching, analytics threads, channels.
// Every field has a default (below); an unknown field or a bad value is kInvalidConfig with a
// message that names its path, e.g. "channels[1].policy".
#pragma once

#include <string>
#include <vector>

#include "core/image.h"
#include "core/status.h"
#include "io/source.h"
#include "pipeline/cluster_member.h"

namespace vas {

// What a full channel queue does with one frame too many.
enum class DropPolicy {
  kDropOldest,  // evict the oldest queued frame: latency stays bounded (the default)
  kDropNewest,  // refuse the new frame
  kBlock,       // the producer waits for room (files and pushed frames only, never RTSP)
};
const char* drop_policy_name(DropPolicy policy);

struct ChannelConfig {
  std::string id;       // required, unique within the pipeline
  bool push = false;    // frames come from push_frame() instead of a source
  SourceConfig source;  // "source": required unless push
  PixelFormat push_format = PixelFormat::kBGR24;  // "format": pushed frames' pixel format
  int queue = 4;  // frames waiting for detection or analytics (1..1024)
  DropPolicy policy = DropPolicy::kDropOldest;
  int detect_interval = 1;        // detect every Nth frame; the tracker predicts in between
  int pool_frames = 0;            // frame pool capacity in frames; 0 = queue + max_batch + 2
  bool pool_frames_auto = false;  // pool_frames was 0: sized again once max_batch is known
  // "max_gap_s": media time jumping forward by more than this (or the source reconnecting)
  // is a gap: the channel's tracks end ("source_gap") and dwell timers restart. 0 = only
  // reconnects are gaps.
  double max_gap_s = 5.0;
  // "analytics": {"tracker", "best_shot", "associator", "rules"}, validated, with "channel"
  // set to the id (kept as JSON: see detector_stage.h for why this header includes neither
  // the analytics nor the detector).
  std::string analytics_json;
  // "annotate": {"path", "trail_frames", "fps"}: an annotated video of the channel (boxes, ids,
  // trails, rule lines and zones, counts), written 0600 by the channel's worker. Empty = none.
  std::string annotate_path;
  int annotate_trail_frames = 20;
  double annotate_fps = 0;  // 0 = the source's frame rate (10 when unknown)
};

struct InferenceConfig {
  // Frames per detector run (1 = no batching); 0 = by the engine once it exists: 1 where it
  // runs several requests at once (OpenVINO's streams: in-flight requests instead of batches,
  // which held 40% less memory and less latency), else kBatchedMaxBatch (ORT). ORT's batches
  // of 2 against 4 on 2 cores (yolov3-tiny 768x576, 4 channels): 0.97 of the frame rate, 86 MiB
  // less peak RSS (293 against 379), and a lower p99 at the largest real-time channel count.
  int max_batch = 0;
  static constexpr int kBatchedMaxBatch = 2;
  int max_wait_ms = 10;  // the longest a frame waits for a batch to fill
  // Batches in inference at once, each collected and run by its own batcher thread; 0 = what
  // the engine runs in parallel (OpenVINO: its infer requests, one per stream; ORT: 1, as one
  // ORT run already uses all its intra-op threads).
  int in_flight = 0;
  // Intra-op threads of the engine; 0 picks 1 when the machine has <= 2 cores (decode and
  // analytics need the other), else half the cores. On a shared 2-core machine (4 looping
  // vtest.avi channels, 384x288, batch 4) 1 thread without spinning was never slower than 2,
  // and 2 spinning threads were the slowest (about 25-35% fewer frames, 30-60% more latency).
  int threads = 0;
  // session.intra_op.allow_spinning: spinning intra-op threads take the core the decode and
  // analytics threads need between runs.
  bool spinning = false;
};

// max_batch, or what 0 means before the engine exists (ORT's batches).
inline int resolved_max_batch(const InferenceConfig& i) {
  return i.max_batch > 0 ? i.max_batch : InferenceConfig::kBatchedMaxBatch;
}

// The pool must hold the queue, a batch and the frame being analysed, or the decoder would
// stall on an exhausted pool while the queue still has room.
inline int default_pool_frames(int queue, int max_batch) { return queue + max_batch + 2; }

struct PipelineConfig {
  std::string detector_model;         // models.detector.model (path)
  std::string detector_options_json;  // models.detector.options, validated
  InferenceConfig inference;
  // Workers that run the analytics and callbacks. Two by default: a channel whose callback is
  // slow holds one of them, and the other keeps serving every other channel.
  int analytics_threads = 2;
  // "sinks": the JSON array SinkSet::create takes (csrc/sinks/sink_set.h); "" = no sinks.
  std::string sinks_json;
  // Names this process in every sink message ("node_id"); default: the host name.
  std::string node_id;
  // "cluster": when set, "channels" is the list every node shares, and this node runs only the
  // channels whose partitions its consumer group assigns to it (cluster_member.h).
  ClusterConfig cluster;
  std::vector<ChannelConfig> channels;
};

// Validates an "analytics" object (analytics_check.cpp); the message names the field.
Status check_analytics_config(const std::string& json);

Result<PipelineConfig> parse_pipeline_config(const std::string& json_text);
// One element of "channels" (also add_channel()); `path` prefixes the field names in messages.
Result<ChannelConfig> parse_channel_config(const std::string& json_text, const std::string& path,
                                           const InferenceConfig& inference);

}  // namespace vas
