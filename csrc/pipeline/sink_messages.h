// Pipeline values -> sink messages: the JSON the sinks publish for results and events. Every
// message names the node that made it ("node_id") and the wall-clock time it left the pipeline
// ("wall_us", us since the epoch), so that consumers of several nodes can merge them.
//
//   result: {"node_id", "wall_us", "channel", "kind": "result", "frame", "pts_us", "capture_us",
//   "ts_us", "detected",
//            "objects": [{"track_id", "class_id", "score", "box": [x1, y1, x2, y2],
//                         "landmarks": [[x, y]...] (when any), "parent_track_id" (when >= 0)}]}
//   event:  {"node_id", "wall_us", "channel", "kind", "subkind", "rule_id" (when set), "track_id",
//   "class_id", "ts_us",
//            "message" (when set), "best_shot_id" and "quality" (best shots)}
// Coordinates are rounded to 0.01 px and scores to 1e-4 so that lines stay short. A best shot's
// JPEG travels in SinkMessage::image; the best-shot store turns it into "image_path".
#pragma once

#include <nlohmann/json.hpp>

#include "pipeline/pipeline.h"
#include "sinks/sink.h"

namespace vas {

SinkMessage to_sink_message(const FrameResult& r, const std::string& node_id, int64_t wall_us);
// Copies the event's JPEG bytes (the event is borrowed for the callback only).
SinkMessage to_sink_message(const PipelineEvent& e, const std::string& node_id);
// One channel's counters as in vas_pipeline_stats_json's "channels" (also the message of the
// "channel"/"removed" event).
nlohmann::json channel_stats_json(const ChannelStats& c);
// PipelineStats::cpu_ms_per_frame as stats_json's "cpu_ms_per_frame" object.
nlohmann::json cpu_stats_json(const CpuStats& c);

}  // namespace vas
