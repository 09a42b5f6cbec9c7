#include "pipeline/pipeline_config.h"

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/json_value.h"
#include "pipeline/detector_stage.h"

namespace vas {
namespace {

using json = nlohmann::json;

Status bad(const std::string& path, const std::string& why) {
  return invalid_config("pipeline config: '" + path + "' " + why);
}

// Reads an optional field into *out, checking type and range [lo, hi].
template <typename T>
Status read_field(const json& obj, const char* key, const std::string& path, T* out, T lo, T hi) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::ok();
  const std::string p = path.empty() ? key : path + "." + key;
  if (!read_json(*it, out)) return bad(p, "has the wrong type or is out of range: " + it->dump());
  if (*out < lo || *out > hi) {
    return bad(p, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return Status::ok();
}

template <typename T>
Status read_plain(const json& obj, const char* key, const std::string& path, T* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::ok();
  const std::string p = path.empty() ? key : path + "." + key;
  if (!read_json(*it, out)) return bad(p, "has the wrong type: " + it->dump());
  return Status::ok();
}

Status check_keys(const json& obj, const std::string& path, const std::set<std::string>& known) {
  if (!obj.is_object()) return bad(path.empty() ? "(root)" : path, "must be a JSON object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!known.count(it.key())) {
      return invalid_config("pipeline config: unknown field '" +
                            (path.empty() ? it.key() : path + "." + it.key()) + "'");
    }
  }
  return Status::ok();
}

Result<json> parse_text(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return invalid_config(what + " is not valid JSON: " + e.what());
  }
}

Result<PixelFormat> parse_format(const std::string& name, const std::string& path) {
  if (name == "bgr24" || name == "bgr") return PixelFormat::kBGR24;
  if (name == "rgb24" || name == "rgb") return PixelFormat::kRGB24;
  if (name == "gray8" || name == "gray") return PixelFormat::kGRAY8;
  if (name == "nv12") return PixelFormat::kNV12;
  if (name == "nv21") return PixelFormat::kNV21;
  if (name == "i420") return PixelFormat::kI420;
  return bad(path, "is not a pixel format (bgr24, rgb24, gray8, nv12, nv21, i420): '" + name + "'");
}

bool is_rtsp(const std::string& url) {
  return url.rfind("rtsp://", 0) == 0 || url.rfind("rtsps://", 0) == 0;
}

Result<ChannelConfig> parse_channel(const json& j, const std::string& path,
                                    const InferenceConfig& inference) {
  VAS_RETURN_IF_ERROR(check_keys(j, path,
                                 {"id", "source", "push", "format", "queue", "policy",
                                  "detect_interval", "pool_frames", "analytics"}));
  ChannelConfig c;
  VAS_RETURN_IF_ERROR(read_plain(j, "id", path, &c.id));
  if (c.id.empty()) return bad(path + ".id", "is required and must be a non-empty string");
  VAS_RETURN_IF_ERROR(read_plain(j, "push", path, &c.push));
  auto src = j.find("source");
  if (c.push && src != j.end()) return bad(path + ".source", "must be absent on a push channel");
  if (!c.push) {
    if (src == j.end()) return bad(path + ".source", "is required unless \"push\": true");
    VAS_ASSIGN_OR_RETURN(c.source, parse_source_config(*src, path + ".source"));
  }
  std::string format;
  VAS_RETURN_IF_ERROR(read_plain(j, "format", path, &format));
  if (!format.empty()) {
    if (!c.push) return bad(path + ".format", "applies to push channels only (set source.format)");
    VAS_ASSIGN_OR_RETURN(c.push_format, parse_format(format, path + ".format"));
  }
  VAS_RETURN_IF_ERROR(read_field(j, "queue", path, &c.queue, 1, 1024));
  std::string policy;
  VAS_RETURN_IF_ERROR(read_plain(j, "policy", path, &policy));
  if (policy == "drop_oldest" || policy.empty()) {
    c.policy = DropPolicy::kDropOldest;
  } else if (policy == "drop_newest") {
    c.policy = DropPolicy::kDropNewest;
  } else if (policy == "block") {
    c.policy = DropPolicy::kBlock;
    // A camera does not wait: blocking its reader only moves the backlog into the socket and
    // the latency grows without bound, so RTSP channels must drop.
    if (!c.push && is_rtsp(c.source.url)) {
      return bad(path + ".policy",
                 "\"block\" is for files and pushed frames only; an RTSP "
                 "channel must use drop_oldest or drop_newest");
    }
  } else {
    return bad(path + ".policy", "must be drop_oldest, drop_newest or block, not '" + policy + "'");
  }
  VAS_RETURN_IF_ERROR(read_field(j, "detect_interval", path, &c.detect_interval, 1, 10000));
  VAS_RETURN_IF_ERROR(read_field(j, "pool_frames", path, &c.pool_frames, 0, 4096));
  // The pool must hold the queue, the frames in a batch and the one being analysed, or the
  // decoder would stall on an exhausted pool while the queue still has room.
  const int need = c.queue + inference.max_batch + 2;
  if (c.pool_frames == 0) c.pool_frames = need;
  if (c.pool_frames < 2) return bad(path + ".pool_frames", "must be >= 2");
  json an = json::object();
  auto it = j.find("analytics");
  if (it != j.end()) {
    if (!it->is_object()) return bad(path + ".analytics", "must be a JSON object");
    an = *it;
  }
  if (!an.contains("channel")) an["channel"] = c.id;
  if (!an["channel"].is_string() || an["channel"].get<std::string>() != c.id) {
    return bad(path + ".analytics.channel", "must be the channel's id '" + c.id + "' or absent");
  }
  c.analytics_json = an.dump();
  Status st = check_analytics_config(c.analytics_json);
  if (!st.is_ok())
    return invalid_config("pipeline config: '" + path + ".analytics' " + st.message());
  return c;
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
  VAS_ASSIGN_OR_RETURN(json j, parse_text(json_text, "channel config"));
  return parse_channel(j, path, inference);
}

Result<PipelineConfig> parse_pipeline_config(const std::string& json_text) {
  VAS_ASSIGN_OR_RETURN(json doc, parse_text(json_text, "pipeline config"));
  VAS_RETURN_IF_ERROR(
      check_keys(doc, "", {"models", "inference", "analytics_threads", "channels"}));
  PipelineConfig cfg;
  auto models = doc.find("models");
  if (models == doc.end()) return bad("models.detector", "is required");
  VAS_RETURN_IF_ERROR(check_keys(*models, "models", {"detector"}));
  auto det = models->find("detector");
  if (det == models->end()) return bad("models.detector", "is required");
  VAS_RETURN_IF_ERROR(check_keys(*det, "models.detector", {"model", "options"}));
  VAS_RETURN_IF_ERROR(read_plain(*det, "model", "models.detector", &cfg.detector_model));
  if (cfg.detector_model.empty()) return bad("models.detector.model", "is required (a model path)");
  auto opts = det->find("options");
  if (opts != det->end()) {
    if (!opts->is_object()) return bad("models.detector.options", "must be a JSON object");
    cfg.detector_options_json = opts->dump();
    VAS_RETURN_IF_ERROR(check_detector_options(cfg.detector_options_json)
                            .with_context("pipeline config: models.detector.options"));
  }
  auto inf = doc.find("inference");
  if (inf != doc.end()) {
    VAS_RETURN_IF_ERROR(
        check_keys(*inf, "inference", {"max_batch", "max_wait_ms", "threads", "spinning"}));
    VAS_RETURN_IF_ERROR(
        read_field(*inf, "max_batch", "inference", &cfg.inference.max_batch, 1, 64));
    VAS_RETURN_IF_ERROR(
        read_field(*inf, "max_wait_ms", "inference", &cfg.inference.max_wait_ms, 0, 1000));
    VAS_RETURN_IF_ERROR(read_field(*inf, "threads", "inference", &cfg.inference.threads, 0, 256));
    VAS_RETURN_IF_ERROR(read_plain(*inf, "spinning", "inference", &cfg.inference.spinning));
  }
  if (cfg.inference.threads == 0) {
    const unsigned hw = std::thread::hardware_concurrency();
    cfg.inference.threads = hw <= 2 ? 1 : static_cast<int>(hw / 2);
  }
  VAS_RETURN_IF_ERROR(read_field(doc, "analytics_threads", "", &cfg.analytics_threads, 1, 64));
  auto chans = doc.find("channels");
  if (chans != doc.end()) {
    if (!chans->is_array()) return bad("channels", "must be an array");
    std::set<std::string> ids;
    for (size_t i = 0; i < chans->size(); ++i) {
      const std::string path = "channels[" + std::to_string(i) + "]";
      VAS_ASSIGN_OR_RETURN(ChannelConfig c, parse_channel((*chans)[i], path, cfg.inference));
      if (!ids.insert(c.id).second) return bad(path + ".id", "duplicates channel '" + c.id + "'");
      cfg.channels.push_back(std::move(c));
    }
  }
  return cfg;
}

}  // namespace vas
