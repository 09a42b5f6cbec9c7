#include "pipeline/sink_messages.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace vas {
namespace {

double round_to(float x, double step) { return std::round(static_cast<double>(x) / step) * step; }

}  // namespace

SinkMessage to_sink_message(const FrameResult& r, const std::string& node_id, int64_t wall_us) {
  nlohmann::json objects = nlohmann::json::array();
  for (const ObjectResult& o : r.objects) {
    nlohmann::json j = {{"track_id", o.track_id},
                        {"class_id", o.class_id},
                        {"score", round_to(o.score, 1e-4)},
                        {"box",
                         {round_to(o.box[0], 0.01), round_to(o.box[1], 0.01),
                          round_to(o.box[2], 0.01), round_to(o.box[3], 0.01)}}};
    if (o.num_landmarks > 0) {
      nlohmann::json lm = nlohmann::json::array();
      for (int k = 0; k < o.num_landmarks && k < 5; ++k)
        lm.push_back({round_to(o.landmarks[2 * k], 0.01), round_to(o.landmarks[2 * k + 1], 0.01)});
      j["landmarks"] = std::move(lm);
    }
    if (o.parent_track_id >= 0) j["parent_track_id"] = o.parent_track_id;
    objects.push_back(std::move(j));
  }
  const nlohmann::json j = {{"node_id", node_id},         {"wall_us", wall_us},
                            {"channel", r.channel},       {"kind", "result"},
                            {"frame", r.frame},           {"pts_us", r.pts_us},
                            {"capture_us", r.capture_us}, {"ts_us", r.ts_us},
                            {"detected", r.detected},     {"objects", std::move(objects)}};
  SinkMessage m;
  m.channel = r.channel;
  m.kind = "result";
  m.ts_us = r.ts_us;
  m.json = j.dump();
  return m;
}

SinkMessage to_sink_message(const PipelineEvent& e, const std::string& node_id) {
  nlohmann::json j = {{"node_id", node_id},     {"wall_us", e.wall_us}, {"channel", e.channel},
                      {"kind", e.kind},         {"subkind", e.subkind}, {"track_id", e.track_id},
                      {"class_id", e.class_id}, {"ts_us", e.ts_us},     {"media_us", e.media_us}};
  if (!e.rule_id.empty()) j["rule_id"] = e.rule_id;
  if (!e.message.empty()) j["message"] = e.message;
  if (e.kind == "best_shot" || e.best_shot_id >= 0) {
    j["best_shot_id"] = e.best_shot_id;
    j["quality"] = round_to(e.quality, 1e-4);
  }
  SinkMessage m;
  m.channel = e.channel;
  m.kind = e.kind;
  m.ts_us = e.ts_us;
  m.json = j.dump();
  m.image = e.jpeg;
  return m;
}

nlohmann::json cpu_stats_json(const CpuStats& c) {
  auto ms = [](double v) { return std::round(v * 1e4) / 1e4; };
  return {{"frames", c.frames},
          {"decode", ms(c.decode)},
          {"preprocess", ms(c.preprocess)},
          {"inference", ms(c.inference)},
          {"postprocess", ms(c.postprocess)},
          {"analytics", ms(c.analytics)},
          {"delivery", ms(c.delivery)},
          {"annotate", ms(c.annotate)},
          {"other", ms(c.other)},
          {"process", ms(c.process)}};
}

nlohmann::json channel_stats_json(const ChannelStats& c) {
  return {{"id", c.id},
          {"state", c.state},
          {"decoded", c.decoded},
          {"processed", c.processed},
          {"dropped", c.dropped},
          {"dropped_by_reason", c.dropped_by_reason},
          {"reconnects", c.reconnects},
          {"events", c.events},
          {"fps", c.fps},
          {"latency_p50_ms", c.latency_p50_ms},
          {"latency_p99_ms", c.latency_p99_ms},
          {"queue_depth", c.queue_depth},
          {"pool_in_use_bytes", c.pool_in_use_bytes},
          {"pool_reserved_bytes", c.pool_reserved_bytes},
          {"pool_capacity_bytes", c.pool_capacity_bytes},
          {"live_viewers", c.live_viewers},
          {"live_frames", c.live_frames}};
}

}  // namespace vas
