// The extern "C" layer of the pipeline and of process-wide logging: argument checks,
// struct_size handling, the exception guard, and the translation of results and events into
// borrowed C structs on the pipeline's callback threads.
#include <vasdk/vasdk.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "capi_util.h"
#include "core/log.h"
#include "pipeline/pipeline.h"
#include "pipeline/sink_messages.h"

// Frozen layouts: these offsets are ABI. Grow structs only at the end.
static_assert(offsetof(vas_pipeline_config_t, config_json) == 8, "ABI");
static_assert(sizeof(vas_pipeline_config_t) == 16, "ABI");
static_assert(offsetof(vas_live_frame_t, seq) == 16, "ABI");
static_assert(offsetof(vas_live_frame_t, jpeg) == 40, "ABI");
static_assert(sizeof(vas_live_frame_t) == 56, "ABI");
static_assert(offsetof(vas_object_t, class_id) == 4, "ABI");
static_assert(offsetof(vas_object_t, track_id) == 8, "ABI");
static_assert(offsetof(vas_object_t, parent_track_id) == 16, "ABI");
static_assert(offsetof(vas_object_t, x1) == 24, "ABI");
static_assert(offsetof(vas_object_t, score) == 40, "ABI");
static_assert(offsetof(vas_object_t, num_landmarks) == 44, "ABI");
static_assert(offsetof(vas_object_t, landmarks) == 48, "ABI");
static_assert(sizeof(vas_object_t) == 88, "ABI");
static_assert(offsetof(vas_frame_result_t, channel) == 8, "ABI");
static_assert(offsetof(vas_frame_result_t, frame) == 16, "ABI");
static_assert(offsetof(vas_frame_result_t, ts_us) == 40, "ABI");
static_assert(offsetof(vas_frame_result_t, objects) == 48, "ABI");
static_assert(offsetof(vas_frame_result_t, num_objects) == 56, "ABI");
static_assert(sizeof(vas_frame_result_t) == 64, "ABI");
static_assert(offsetof(vas_pipeline_event_t, channel) == 8, "ABI");
static_assert(offsetof(vas_pipeline_event_t, message) == 40, "ABI");
static_assert(offsetof(vas_pipeline_event_t, track_id) == 48, "ABI");
static_assert(offsetof(vas_pipeline_event_t, best_shot_id) == 64, "ABI");
static_assert(offsetof(vas_pipeline_event_t, quality) == 72, "ABI");
static_assert(offsetof(vas_pipeline_event_t, crop) == 80, "ABI");
static_assert(offsetof(vas_pipeline_event_t, jpeg) == 136, "ABI");
static_assert(offsetof(vas_pipeline_event_t, jpeg_size) == 144, "ABI");
static_assert(offsetof(vas_pipeline_event_t, media_us) == 152, "ABI");
static_assert(sizeof(vas_pipeline_event_t) == 168, "ABI");
static_assert(VAS_LOG_OFF == static_cast<int>(vas::LogLevel::kOff), "levels");
static_assert(VAS_LOG_WARN == static_cast<int>(vas::LogLevel::kWarn), "levels");

struct vas_pipeline {
  std::unique_ptr<vas::Pipeline> impl;
};

namespace {

using namespace vas_capi;  // NOLINT(google-build-using-namespace)

// Per callback thread: several channels may call back at once from different workers.
thread_local std::vector<vas_object_t> t_objects;
// Per calling thread: the JPEG vas_pipeline_live_frame hands out (shared, never changed).
thread_local std::shared_ptr<const std::vector<uint8_t>> t_live_jpeg;
// Per calling thread: the string vas_pipeline_stats_json hands out.
thread_local std::string t_stats_json;

void to_c(const vas::FrameResult& r, vas_frame_result_t* out) {
  t_objects.resize(r.objects.size());
  for (size_t i = 0; i < r.objects.size(); ++i) {
    const vas::ObjectResult& s = r.objects[i];
    vas_object_t& o = t_objects[i];
    std::memset(&o, 0, sizeof(o));
    o.struct_size = sizeof(vas_object_t);
    o.class_id = s.class_id;
    o.track_id = s.track_id;
    o.parent_track_id = s.parent_track_id;
    o.x1 = s.box[0];
    o.y1 = s.box[1];
    o.x2 = s.box[2];
    o.y2 = s.box[3];
    o.score = s.score;
    o.num_landmarks = s.num_landmarks;
    std::memcpy(o.landmarks, s.landmarks, sizeof(o.landmarks));
  }
  std::memset(out, 0, sizeof(*out));
  out->struct_size = sizeof(vas_frame_result_t);
  out->detected = r.detected ? 1 : 0;
  out->channel = r.channel.c_str();
  out->frame = r.frame;
  out->pts_us = r.pts_us;
  out->capture_us = r.capture_us;
  out->ts_us = r.ts_us;
  out->objects = t_objects.empty() ? nullptr : t_objects.data();
  out->num_objects = t_objects.size();
}

void to_c(const vas::PipelineEvent& e, vas_pipeline_event_t* out) {
  std::memset(out, 0, sizeof(*out));
  out->struct_size = sizeof(vas_pipeline_event_t);
  out->class_id = e.class_id;
  out->channel = e.channel.c_str();
  out->kind = e.kind.c_str();
  out->subkind = e.subkind.c_str();
  out->rule_id = e.rule_id.c_str();
  out->message = e.message.c_str();
  out->track_id = e.track_id;
  out->ts_us = e.ts_us;
  out->media_us = e.media_us;
  out->wall_us = e.wall_us;
  out->best_shot_id = e.best_shot_id;
  out->quality = e.quality;
  vas_image_init(&out->crop);
  const vas::ImageView& v = e.crop.view;
  if (v.width > 0 && v.height > 0) {
    out->crop.format = static_cast<int32_t>(v.format);
    out->crop.width = v.width;
    out->crop.height = v.height;
    for (int p = 0; p < 3; ++p) {
      out->crop.planes[p] = v.planes[p];
      out->crop.strides[p] = static_cast<int32_t>(v.strides[p]);
    }
  }
  if (!e.jpeg.empty()) {
    out->jpeg = e.jpeg.data();
    out->jpeg_size = e.jpeg.size();
  }
}

nlohmann::json stage_json(const vas::StageStats& s) {
  return {{"fps", s.fps},
          {"latency_p50_ms", s.latency_p50_ms},
          {"latency_p99_ms", s.latency_p99_ms},
          {"queue_depth", s.queue_depth}};
}

std::string stats_json(const vas::PipelineStats& st) {
  nlohmann::json channels = nlohmann::json::array();
  for (const vas::ChannelStats& c : st.channels) {
    channels.push_back(vas::channel_stats_json(c));
  }
  nlohmann::json sinks = nlohmann::json::array();
  for (const vas::SinkStats& k : st.sinks) {
    sinks.push_back({{"name", k.name},
                     {"type", k.type},
                     {"connected", k.connected},
                     {"queued", k.queued},
                     {"delivered", k.delivered},
                     {"failed", k.failed},
                     {"dropped", k.dropped},
                     {"dropped_by_reason", k.dropped_by_reason},
                     {"redelivered", k.redelivered},
                     {"reconnects", k.reconnects},
                     {"outbox_depth", k.outbox_depth},
                     {"in_flight", k.in_flight},
                     {"last_error", k.last_error}});
  }
  nlohmann::json doc = {{"sinks", std::move(sinks)},
                        {"channels", std::move(channels)},
                        {"decode", stage_json(st.decode)},
                        {"inference", stage_json(st.inference)},
                        {"analytics", stage_json(st.analytics)},
                        {"cpu_ms_per_frame", vas::cpu_stats_json(st.cpu_ms_per_frame)},
                        {"inference_lanes", st.inference_lanes},
                        {"inference_max_batch", st.inference_max_batch},
                        {"inference_backend", st.inference_backend},
                        {"inference_notes", st.inference_notes},
                        {"batch_mean", st.batch_mean},
                        {"batches", st.batches}};
  // Replace NaN/inf (a stage with no samples yet) rather than emitting invalid JSON.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The checks every entry point on a handle shares.
#define VAS_CHECK_PIPELINE(p, fn) VAS_CHECK_ARG((p) != nullptr && (p)->impl, fn, "pipeline is NULL")
#define VAS_CHECK_STR(s, fn, name) VAS_CHECK_ARG((s) != nullptr, fn, std::string(name) + " is NULL")

void log_trampoline(vas::LogLevel level, const char* message, void* user) {
  auto* fn_user = static_cast<std::pair<vas_log_callback_t, void*>*>(user);
  fn_user->first(static_cast<int32_t>(level), message, fn_user->second);
}

}  // namespace

extern "C" {

vas_status_t vas_set_log_callback(vas_log_callback_t fn, void* user, int32_t min_level) {
  constexpr const char* fn_name = "vas_set_log_callback";
  return guarded(fn_name, [&]() -> vas_status_t {
    // Two slots, swapped under the logger's lock: the one not installed is free to rewrite,
    // because set_log_sink() returns only once no message is being delivered through it.
    static std::pair<vas_log_callback_t, void*> slots[2];
    static int current = 0;
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    const int next = 1 - current;
    slots[next] = {fn, user};
    vas::Status st = vas::set_log_sink(fn ? log_trampoline : nullptr, fn ? &slots[next] : nullptr,
                                       static_cast<vas::LogLevel>(min_level));
    if (!st.is_ok()) return fail(st.with_context(fn_name));
    current = next;
    return VAS_OK;
  });
}

void vas_pipeline_config_init(vas_pipeline_config_t* config) {
  if (!config) return;
  std::memset(config, 0, sizeof(*config));
  config->struct_size = sizeof(*config);
}

vas_status_t vas_pipeline_create(const vas_pipeline_config_t* config, vas_pipeline_t** out) {
  constexpr const char* fn = "vas_pipeline_create";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(config != nullptr, fn, "config is NULL");
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    vas_pipeline_config_t cfg;
    if (!read_versioned(config, sizeof(vas_pipeline_config_t), &cfg)) {
      return fail(VAS_ERR_INVALID_ARGUMENT, struct_size_message(fn, "vas_pipeline_config_t",
                                                                config->struct_size, sizeof(cfg)));
    }
    VAS_CHECK_ARG(cfg.config_json != nullptr, fn, "config.config_json is NULL");
    auto pipe = vas::Pipeline::create(cfg.config_json);
    if (!pipe.is_ok()) return fail(pipe.status().with_context(fn));
    auto handle = std::make_unique<vas_pipeline>();
    handle->impl = std::move(pipe).value();
    *out = handle.release();
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_destroy(vas_pipeline_t* pipeline) {
  constexpr const char* fn = "vas_pipeline_destroy";
  return guarded(fn, [&]() -> vas_status_t {
    if (pipeline == nullptr) return VAS_OK;
    // The pipeline would have to join the very thread that is running this call.
    VAS_CHECK_ARG(!pipeline->impl || !pipeline->impl->in_callback_thread(), fn,
                  "called from one of the pipeline's own callbacks; stop and destroy it from "
                  "another thread");
    delete pipeline;
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_set_result_callback(vas_pipeline_t* pipeline, vas_result_callback_t cb,
                                              void* user) {
  constexpr const char* fn = "vas_pipeline_set_result_callback";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    std::function<void(const vas::FrameResult&)> f;
    if (cb) {
      f = [cb, user](const vas::FrameResult& r) {
        vas_frame_result_t c;
        to_c(r, &c);
        cb(&c, user);
      };
    }
    vas::Status st = pipeline->impl->set_result_callback(std::move(f));
    if (!st.is_ok()) return fail(st.with_context(fn));
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_set_event_callback(vas_pipeline_t* pipeline, vas_event_callback_t cb,
                                             void* user) {
  constexpr const char* fn = "vas_pipeline_set_event_callback";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    std::function<void(const vas::PipelineEvent&)> f;
    if (cb) {
      f = [cb, user](const vas::PipelineEvent& e) {
        vas_pipeline_event_t c;
        to_c(e, &c);
        cb(&c, user);
      };
    }
    vas::Status st = pipeline->impl->set_event_callback(std::move(f));
    if (!st.is_ok()) return fail(st.with_context(fn));
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_start(vas_pipeline_t* pipeline) {
  constexpr const char* fn = "vas_pipeline_start";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    vas::Status st = pipeline->impl->start();
    if (!st.is_ok()) return fail(st.with_context(fn));
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_stop(vas_pipeline_t* pipeline, int32_t drain) {
  constexpr const char* fn = "vas_pipeline_stop";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    vas::Status st = pipeline->impl->stop(drain != 0);
    if (!st.is_ok()) return fail(st.with_context(fn));
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_add_channel(vas_pipeline_t* pipeline, const char* channel_json) {
  constexpr const char* fn = "vas_pipeline_add_channel";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    VAS_CHECK_STR(channel_json, fn, "channel_json");
    vas::Status st = pipeline->impl->add_channel(channel_json);
    if (!st.is_ok()) return fail(st.with_context(fn));
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_remove_channel(vas_pipeline_t* pipeline, const char* channel_id) {
  constexpr const char* fn = "vas_pipeline_remove_channel";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    VAS_CHECK_STR(channel_id, fn, "channel_id");
    vas::Status st = pipeline->impl->remove_channel(channel_id);
    if (!st.is_ok()) return fail(st.with_context(fn));
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_update_rules(vas_pipeline_t* pipeline, const char* channel_id,
                                       const char* rules_json) {
  constexpr const char* fn = "vas_pipeline_update_rules";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    VAS_CHECK_STR(channel_id, fn, "channel_id");
    VAS_CHECK_STR(rules_json, fn, "rules_json");
    vas::Status st = pipeline->impl->update_rules(channel_id, rules_json);
    if (!st.is_ok()) return fail(st.with_context(fn));
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_push_frame(vas_pipeline_t* pipeline, const char* channel_id,
                                     const vas_image_t* image, int64_t pts_us,
                                     vas_frame_release_t release, void* release_user) {
  constexpr const char* fn = "vas_pipeline_push_frame";
  // The release contract holds on every path, argument errors included: the caller handed
  // the pixels over and must get them back exactly once.
  bool released = false;
  auto release_once = [&]() {
    if (release && !released) {
      released = true;
      release(release_user);
    }
  };
  vas_status_t rc = guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    VAS_CHECK_STR(channel_id, fn, "channel_id");
    vas::ImageView view;
    vas_status_t irc = to_image_view(fn, image, &view);
    if (irc != VAS_OK) return irc;
    std::function<void()> rel;
    if (release) {
      released = true;  // from here on the pipeline owns the call (it releases on error too)
      rel = [release, release_user]() { release(release_user); };
    }
    vas::Status st = pipeline->impl->push_frame(channel_id, view, pts_us, std::move(rel));
    if (!st.is_ok()) return fail(st.with_context(fn));
    return VAS_OK;
  });
  release_once();
  return rc;
}

vas_status_t vas_pipeline_stats_json(const vas_pipeline_t* pipeline, const char** out_json) {
  constexpr const char* fn = "vas_pipeline_stats_json";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    VAS_CHECK_ARG(out_json != nullptr, fn, "out_json is NULL");
    t_stats_json = stats_json(pipeline->impl->stats());
    *out_json = t_stats_json.c_str();
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_live_watch(vas_pipeline_t* pipeline, const char* channel_id, int32_t on) {
  constexpr const char* fn = "vas_pipeline_live_watch";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    VAS_CHECK_STR(channel_id, fn, "channel_id");
    vas::Status st = pipeline->impl->live_watch(channel_id, on != 0);
    if (!st.is_ok()) return fail(st.with_context(fn));
    return VAS_OK;
  });
}

vas_status_t vas_pipeline_live_frame(vas_pipeline_t* pipeline, const char* channel_id,
                                     uint64_t after_seq, int32_t timeout_ms,
                                     vas_live_frame_t* frame) {
  constexpr const char* fn = "vas_pipeline_live_frame";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_PIPELINE(pipeline, fn);
    VAS_CHECK_STR(channel_id, fn, "channel_id");
    VAS_CHECK_ARG(frame != nullptr, fn, "frame is NULL");
    VAS_CHECK_ARG(frame->struct_size >= 8, fn, "frame->struct_size is below 8 (not set?)");
    VAS_CHECK_ARG(!pipeline->impl->in_callback_thread(), fn,
                  "called from a pipeline callback, which must not wait");
    auto r = pipeline->impl->live_frame(channel_id, after_seq, timeout_ms);
    if (!r.is_ok()) return fail(r.status().with_context(fn));
    const vas::LiveFrame& f = r.value();
    t_live_jpeg = f.jpeg;
    vas_live_frame_t out;
    std::memset(&out, 0, sizeof(out));
    out.struct_size = frame->struct_size;
    out.width = f.width;
    out.height = f.height;
    out.seq = f.seq;
    out.frame = f.frame;
    out.capture_us = f.capture_us;
    out.jpeg = f.jpeg->data();
    out.jpeg_size = f.jpeg->size();
    std::memcpy(frame, &out, std::min<size_t>(frame->struct_size, sizeof(out)));
    return VAS_OK;
  });
}

}  // extern "C"
