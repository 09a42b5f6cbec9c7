#include "pipeline/pipeline_config.h"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/config_reader.h"
#include "pipeline/detector_stage.h"

namespace vas {
namespace {

using json = nlohmann::json;

bool is_rtsp(const std::string& url) {
  return url.rfind("rtsp://", 0) == 0 || url.rfind("rtsps://", 0) == 0;
}

// The url's scheme, checked here too so that a typo fails create() rather than start().
std::string url_scheme(const std::string& url) {
  const auto p = url.find("://");
  if (p == std::string::npos) return "";
  return url.substr(0, p);
}

// Reads one channel object; errors go into o's document state.
void read_channel(ConfigObject& o, const InferenceConfig& inference, ChannelConfig* out) {
  ChannelConfig c;
  o.req("id", &c.id);
  if (o.ok() && c.id.empty()) o.fail("id", "must not be empty");
  o.opt("push", &c.push);
  if (c.push) {
    o.reject("source", "does not apply to a push channel");
    o.opt_choice("format", &c.push_format,
                 {{"bgr24", PixelFormat::kBGR24},
                  {"rgb24", PixelFormat::kRGB24},
                  {"gray8", PixelFormat::kGRAY8},
                  {"nv12", PixelFormat::kNV12},
                  {"nv21", PixelFormat::kNV21},
                  {"i420", PixelFormat::kI420}});
  } else {
    o.reject("format", "applies to push channels only (a source sets source.format)");
    ConfigObject src = o.object("source", /*required=*/true);
    if (src.present() && o.ok()) {
      Status st = parse_source_config(src, &c.source);
      (void)st;  // recorded in the shared document state
      const std::string scheme = url_scheme(c.source.url);
      if (o.ok() && !scheme.empty() && scheme != "file" && scheme != "rtsp" && scheme != "rtsps") {
        src.fail("url",
                 "unsupported scheme '" + scheme + "' (use a file path, file:// or rtsp://)");
      }
    }
  }
  o.opt("queue", &c.queue, in_range(1, 1024));
  o.opt_choice("policy", &c.policy,
               {{"drop_oldest", DropPolicy::kDropOldest},
                {"drop_newest", DropPolicy::kDropNewest},
                {"block", DropPolicy::kBlock}});
  // A camera does not wait: blocking its reader only moves the backlog into the socket, and
  // the latency grows without bound, so RTSP channels must drop.
  if (o.ok() && c.policy == DropPolicy::kBlock && !c.push && is_rtsp(c.source.url)) {
    o.fail("policy",
           "\"block\" is for files and pushed frames only; an RTSP channel must use "
           "drop_oldest or drop_newest");
  }
  o.opt("detect_interval", &c.detect_interval, in_range(1, 10000));
  o.opt("max_gap_s", &c.max_gap_s, in_range(0, 86400));
  ConfigObject annotate = o.object("annotate");
  if (annotate.present()) {
    if (annotate.req("path", &c.annotate_path) && c.annotate_path.empty())
      annotate.fail("path", "must not be empty");
    annotate.opt("trail_frames", &c.annotate_trail_frames, in_range(0, 1000));
    annotate.opt("fps", &c.annotate_fps, in_range(0, 1000));
    (void)annotate.finish();
  }
  o.opt("pool_frames", &c.pool_frames, in_range(0, 4096));
  if (o.ok() && c.pool_frames == 1) o.fail("pool_frames", "must be 0 (automatic) or >= 2");
  if (c.pool_frames == 0) {
    c.pool_frames_auto = true;
    c.pool_frames = default_pool_frames(c.queue, resolved_max_batch(inference));
  }
  // The analytics object goes to the analytics' own parser, with "channel" set to the id.
  const json* an = o.raw("analytics");
  if (o.ok()) {
    json a = an ? *an : json::object();
    if (!a.is_object()) {
      o.fail("analytics", "expected an object, got " + config_value_text(a));
    } else {
      if (!a.contains("channel")) a["channel"] = c.id;
      if (!a["channel"].is_string() || a["channel"].get<std::string>() != c.id) {
        o.fail("analytics", "channel must be the channel's id '" + c.id + "' or absent");
      } else {
        c.analytics_json = a.dump();
        Status st = check_analytics_config(c.analytics_json);
        if (!st.is_ok()) o.fail("analytics", st.message());
      }
    }
  }
  *out = std::move(c);
}

void read_cluster(ConfigObject& root, ClusterConfig* c) {
  ConfigObject o = root.object("cluster");
  if (!o.present()) return;
  c->enabled = true;
  o.req("brokers", &c->brokers);
  o.opt("topic", &c->topic);
  o.opt("group", &c->group);
  o.opt("session_timeout_ms", &c->session_timeout_ms, in_range(1000, 3600000));
  o.opt("heartbeat_interval_ms", &c->heartbeat_interval_ms, in_range(100, 3600000));
  o.opt_choice("assignment", &c->assignment,
               {{"cooperative-sticky", std::string("cooperative-sticky")},
                {"roundrobin", std::string("roundrobin")},
                {"range", std::string("range")}});
  read_tls(o, &c->tls);
  read_kafka_properties(o, &c->properties);
  if (o.ok() && c->brokers.empty()) o.fail("brokers", "must not be empty");
  if (o.ok() && c->topic.empty()) o.fail("topic", "must not be empty");
  if (o.ok() && c->group.empty()) o.fail("group", "must not be empty");
  if (o.ok() && c->heartbeat_interval_ms >= c->session_timeout_ms)
    o.fail("heartbeat_interval_ms", "must be below session_timeout_ms");
  (void)o.finish();
}

}  // namespace

const char* drop_policy_name(DropPolicy policy) {
  switch (policy) {
    case DropPolicy::kDropOldest:
      return "drop_oldest";
    case DropPolicy::kDropNewest:
      return "drop_newest";
    case DropPolicy::kBlock:
      return "block";
  }
  return "?";
}

Result<ChannelConfig> parse_channel_config(const std::string& json_text, const std::string& path,
                                           const InferenceConfig& inference) {
  VAS_ASSIGN_OR_RETURN(json doc, parse_config_json(json_text, path + " config"));
  ConfigObject o(doc, path, path + " config");
  ChannelConfig c;
  read_channel(o, inference, &c);
  VAS_RETURN_IF_ERROR(o.finish());
  return c;
}

Result<PipelineConfig> parse_pipeline_config(const std::string& json_text) {
  VAS_ASSIGN_OR_RETURN(json doc, parse_config_json(json_text, "pipeline config"));
  ConfigObject root(doc, "", "pipeline config");
  PipelineConfig cfg;
  ConfigObject models = root.object("models", /*required=*/true);
  ConfigObject det = models.object("detector", /*required=*/true);
  det.req("model", &cfg.detector_model);
  if (root.ok() && det.present() && cfg.detector_model.empty())
    det.fail("model", "must not be empty");
  if (const json* opts = det.raw("options"); opts && root.ok()) {
    if (!opts->is_object()) {
      det.fail("options", "expected an object, got " + config_value_text(*opts));
    } else {
      cfg.detector_options_json = opts->dump();
      Status st = check_detector_options(cfg.detector_options_json);
      if (!st.is_ok()) det.fail("options", st.message());
    }
  }
  ConfigObject inf = root.object("inference");
  inf.opt("max_batch", &cfg.inference.max_batch, in_range(1, 64));
  inf.opt("max_wait_ms", &cfg.inference.max_wait_ms, in_range(0, 1000));
  inf.opt("in_flight", &cfg.inference.in_flight, in_range(0, 16));
  inf.opt("threads", &cfg.inference.threads, in_range(0, 256));
  inf.opt("spinning", &cfg.inference.spinning);
  if (cfg.inference.threads == 0) {
    const unsigned hw = std::thread::hardware_concurrency();
    cfg.inference.threads = hw <= 2 ? 1 : static_cast<int>(hw / 2);
  }
  root.opt("analytics_threads", &cfg.analytics_threads, in_range(1, 64));
  if (const json* sinks = root.raw("sinks"); sinks && root.ok()) {
    if (!sinks->is_array()) {
      root.fail("sinks", "expected an array of sink objects, got " + config_value_text(*sinks));
    } else if (!sinks->empty()) {
      cfg.sinks_json = sinks->dump();
    }
  }
  root.opt("node_id", &cfg.node_id);
  if (cfg.node_id.empty()) {
    char host[256] = {0};
    cfg.node_id = gethostname(host, sizeof(host) - 1) == 0 && host[0] ? host : "vasdk";
  }
  read_cluster(root, &cfg.cluster);
  ConfigArray chans = root.array("channels");
  std::set<std::string> ids;
  for (size_t i = 0; i < chans.size() && root.ok(); ++i) {
    ConfigObject o = chans.object(i);
    if (!o.present()) break;
    ChannelConfig c;
    read_channel(o, cfg.inference, &c);
    if (root.ok() && !ids.insert(c.id).second) o.fail("id", "duplicates channel '" + c.id + "'");
    VAS_RETURN_IF_ERROR(o.finish());
    cfg.channels.push_back(std::move(c));
  }
  VAS_RETURN_IF_ERROR(det.finish());
  VAS_RETURN_IF_ERROR(models.finish());
  VAS_RETURN_IF_ERROR(inf.finish());
  VAS_RETURN_IF_ERROR(root.finish());
  return cfg;
}

}  // namespace vas
