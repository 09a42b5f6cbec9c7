// The extern "C" layer of the analytics modules: best-shot selection, association and
// business rules. Argument checks, struct_size handling and the exception guard only; the
// logic lives in csrc/select, csrc/associate and csrc/business.
#include <vasdk/vasdk.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "associate/associator.h"
#include "business/rules_config.h"
#include "business/rules_engine.h"
#include "capi_util.h"
#include "select/best_shot.h"

// Frozen layouts: these offsets are ABI. Grow structs only at the end.
static_assert(offsetof(vas_best_shot_config_t, config_json) == 8, "ABI");
static_assert(offsetof(vas_best_shot_t, class_id) == 48, "ABI");
static_assert(offsetof(vas_best_shot_t, terms) == 64, "ABI");
static_assert(offsetof(vas_best_shot_t, crop_x) == 104, "ABI");
static_assert(offsetof(vas_best_shot_t, crop) == 112, "ABI");
static_assert(offsetof(vas_best_shot_t, jpeg) == 168, "ABI");
static_assert(sizeof(vas_best_shot_t) == 184, "ABI");
static_assert(offsetof(vas_associator_config_t, config_json) == 8, "ABI");
static_assert(offsetof(vas_rules_config_t, config_json) == 8, "ABI");
static_assert(offsetof(vas_event_t, rule_index) == 16, "ABI");
static_assert(offsetof(vas_event_t, track_id) == 24, "ABI");
static_assert(offsetof(vas_event_t, timestamp_us) == 40, "ABI");
static_assert(offsetof(vas_event_t, best_shot_id) == 56, "ABI");
static_assert(sizeof(vas_event_t) == 64, "ABI");
static_assert(static_cast<int>(vas::EventKind::kCrowdingEnd) == VAS_EVENT_CROWDING_END, "kinds");
static_assert(static_cast<int>(vas::BestShotReason::kFlush) == VAS_BEST_SHOT_FLUSH, "reasons");
static_assert(static_cast<int>(vas::TrackState::kRemoved) == VAS_TRACK_REMOVED, "states");

struct vas_best_shot_selector {
  std::unique_ptr<vas::BestShotSelector> impl;
  std::vector<vas::TrackedObject> objects;
  std::vector<vas_best_shot_t> out;
  std::vector<uint8_t> jpeg;
};

struct vas_associator {
  std::unique_ptr<vas::Associator> impl;
  std::vector<vas::TrackedObject> objects;
};

struct vas_rules {
  std::unique_ptr<vas::RulesEngine> impl;
  std::vector<vas::TrackedObject> objects;
  std::vector<vas_event_t> out;
};

namespace {

using namespace vas_capi;  // NOLINT(google-build-using-namespace)

// Copies and checks the caller's tracks; the message names the first bad one.
vas_status_t to_objects(const char* fn, const vas_track_t* tracks, size_t n,
                        std::vector<vas::TrackedObject>* out) {
  VAS_CHECK_ARG(tracks != nullptr || n == 0, fn, "tracks is NULL but n is " + std::to_string(n));
  out->resize(n);
  for (size_t i = 0; i < n; ++i) {
    const vas_track_t& t = tracks[i];
    const std::string where = std::string(fn) + ": tracks[" + std::to_string(i) + "]";
    if (!std::isfinite(t.x1) || !std::isfinite(t.y1) || !std::isfinite(t.x2) ||
        !std::isfinite(t.y2) || t.x2 < t.x1 || t.y2 < t.y1) {
      return fail(VAS_ERR_INVALID_ARGUMENT, where + ": box must be finite with x2 >= x1, y2 >= y1");
    }
    if (t.state < VAS_TRACK_TENTATIVE || t.state > VAS_TRACK_REMOVED)
      return fail(VAS_ERR_INVALID_ARGUMENT,
                  where + ".state " + std::to_string(t.state) + " is not a vas_track_state_t");
    if (t.num_landmarks != 0 && t.num_landmarks != 5)
      return fail(VAS_ERR_INVALID_ARGUMENT, where + ".num_landmarks must be 0 or 5");
    vas::TrackedObject& o = (*out)[i];
    o.track_id = t.track_id;
    o.parent_track_id = t.parent_track_id;
    o.class_id = t.class_id;
    o.score = t.score;
    o.x1 = t.x1, o.y1 = t.y1, o.x2 = t.x2, o.y2 = t.y2;
    o.state = static_cast<vas::TrackState>(t.state);
    o.hits = t.hits;
    o.age = t.age;
    o.time_since_update = t.time_since_update;
    o.num_landmarks = t.num_landmarks;
    std::memcpy(o.landmarks, t.landmarks, sizeof(o.landmarks));
  }
  return VAS_OK;
}

// Reads a {struct_size, config_json} struct and returns its JSON ("" for NULL).
template <typename T>
vas_status_t read_config(const char* fn, const char* type, const T* config, std::string* json) {
  VAS_CHECK_ARG(config != nullptr, fn, "config is NULL");
  T cfg;
  if (!read_versioned(config, sizeof(T), &cfg))
    return fail(VAS_ERR_INVALID_ARGUMENT,
                struct_size_message(fn, type, config->struct_size, sizeof(T)));
  *json = cfg.config_json ? cfg.config_json : "";
  return VAS_OK;
}

void export_shots(vas_best_shot_selector* s, const vas_best_shot_t** out_shots, size_t* out_count) {
  s->out.clear();
  for (const vas::BestShotRecord& r : s->impl->records()) {
    for (size_t k = 0; k < r.crops.size(); ++k) {
      const vas::BestShotCrop& c = r.crops[k];
      vas_best_shot_t o;
      std::memset(&o, 0, sizeof(o));
      o.track_id = r.track_id;
      o.shot_id = c.shot_id;
      o.timestamp_us = c.timestamp_us;
      o.frame_index = c.frame_index;
      o.first_seen_us = r.first_seen_us;
      o.last_seen_us = r.last_seen_us;
      o.class_id = r.class_id;
      o.reason = static_cast<int32_t>(r.reason);
      o.rank = static_cast<int32_t>(k);
      o.quality = c.quality.total;
      const float terms[6] = {c.quality.detector,   c.quality.size,   c.quality.sharpness,
                              c.quality.truncation, c.quality.aspect, c.quality.frontal};
      std::memcpy(o.terms, terms, sizeof(terms));
      o.x1 = c.x1, o.y1 = c.y1, o.x2 = c.x2, o.y2 = c.y2;
      o.crop_x = c.crop_x;
      o.crop_y = c.crop_y;
      vas_image_init(&o.crop);
      o.crop.format = VAS_PIXEL_FORMAT_BGR24;
      o.crop.width = c.image.view.width;
      o.crop.height = c.image.view.height;
      o.crop.planes[0] = c.image.view.planes[0];
      o.crop.strides[0] = c.image.view.strides[0];
      o.jpeg = c.jpeg.empty() ? nullptr : c.jpeg.data();
      o.jpeg_size = c.jpeg.size();
      s->out.push_back(o);
    }
  }
  *out_shots = s->out.empty() ? nullptr : s->out.data();
  *out_count = s->out.size();
}

void export_events(vas_rules* r, const vas_event_t** out_events, size_t* out_count) {
  r->out.clear();
  for (const vas::Event& e : r->impl->events()) {
    vas_event_t o;
    std::memset(&o, 0, sizeof(o));
    o.channel = e.channel;
    o.rule_id = e.rule_id;
    o.rule_index = e.rule_index;
    o.kind = static_cast<int32_t>(e.kind);
    o.track_id = e.track_id;
    o.class_id = e.class_id;
    o.count = e.count;
    o.timestamp_us = e.timestamp_us;
    o.start_us = e.start_us;
    o.best_shot_id = e.best_shot_id;
    r->out.push_back(o);
  }
  *out_events = r->out.empty() ? nullptr : r->out.data();
  *out_count = r->out.size();
}

}  // namespace

extern "C" {

void vas_best_shot_config_init(vas_best_shot_config_t* config) {
  if (!config) return;
  std::memset(config, 0, sizeof(*config));
  config->struct_size = sizeof(*config);
}

vas_status_t vas_best_shot_selector_create(const vas_best_shot_config_t* config,
                                           vas_best_shot_selector_t** out) {
  constexpr const char* fn = "vas_best_shot_selector_create";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    std::string json;
    if (vas_status_t st = read_config(fn, "vas_best_shot_config_t", config, &json); st != VAS_OK)
      return st;
    auto cfg = vas::parse_best_shot_config(json);
    if (!cfg.is_ok()) return fail(cfg.status().with_context(fn));
    auto sel = vas::BestShotSelector::create(cfg.value());
    if (!sel.is_ok()) return fail(sel.status().with_context(fn));
    auto handle = std::make_unique<vas_best_shot_selector>();
    handle->impl = std::move(sel).value();
    *out = handle.release();
    return VAS_OK;
  });
}

void vas_best_shot_selector_destroy(vas_best_shot_selector_t* selector) { delete selector; }

vas_status_t vas_best_shot_selector_update(vas_best_shot_selector_t* selector,
                                           const vas_image_t* frame, const vas_track_t* tracks,
                                           size_t n, int64_t timestamp_us,
                                           const vas_best_shot_t** out_shots, size_t* out_count) {
  constexpr const char* fn = "vas_best_shot_selector_update";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(selector != nullptr, fn, "selector is NULL");
    VAS_CHECK_ARG(out_shots != nullptr && out_count != nullptr, fn,
                  "out_shots or out_count is NULL");
    vas::ImageView view;
    if (vas_status_t st = to_image_view(fn, frame, &view); st != VAS_OK) return st;
    if (vas_status_t st = to_objects(fn, tracks, n, &selector->objects); st != VAS_OK) return st;
    vas::Status st = selector->impl->update(view, selector->objects, timestamp_us);
    if (!st.is_ok()) return fail(st.with_context(fn));
    export_shots(selector, out_shots, out_count);
    return VAS_OK;
  });
}

vas_status_t vas_best_shot_selector_flush(vas_best_shot_selector_t* selector, int64_t timestamp_us,
                                          const vas_best_shot_t** out_shots, size_t* out_count) {
  constexpr const char* fn = "vas_best_shot_selector_flush";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(selector != nullptr, fn, "selector is NULL");
    VAS_CHECK_ARG(out_shots != nullptr && out_count != nullptr, fn,
                  "out_shots or out_count is NULL");
    vas::Status st = selector->impl->flush(timestamp_us);
    if (!st.is_ok()) return fail(st.with_context(fn));
    export_shots(selector, out_shots, out_count);
    return VAS_OK;
  });
}

vas_status_t vas_best_shot_selector_encode_jpeg(vas_best_shot_selector_t* selector,
                                                const vas_best_shot_t* shot,
                                                const uint8_t** out_jpeg, size_t* out_size) {
  constexpr const char* fn = "vas_best_shot_selector_encode_jpeg";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(selector != nullptr && shot != nullptr, fn, "selector or shot is NULL");
    VAS_CHECK_ARG(out_jpeg != nullptr && out_size != nullptr, fn, "out_jpeg or out_size is NULL");
    const auto& out = selector->out;
    const bool ours = !out.empty() && shot >= out.data() && shot < out.data() + out.size();
    VAS_CHECK_ARG(ours, fn, "shot was not returned by this selector's last update or flush");
    const size_t index = static_cast<size_t>(shot - out.data());
    size_t seen = 0;
    for (const vas::BestShotRecord& r : selector->impl->records()) {
      if (index < seen + r.crops.size()) {
        vas::Status st = selector->impl->encode_jpeg(r.crops[index - seen], &selector->jpeg);
        if (!st.is_ok()) return fail(st.with_context(fn));
        *out_jpeg = selector->jpeg.data();
        *out_size = selector->jpeg.size();
        return VAS_OK;
      }
      seen += r.crops.size();
    }
    return fail(VAS_ERR_INTERNAL, std::string(fn) + ": shot index out of sync with the records");
  });
}

void vas_associator_config_init(vas_associator_config_t* config) {
  if (!config) return;
  std::memset(config, 0, sizeof(*config));
  config->struct_size = sizeof(*config);
}

vas_status_t vas_associator_create(const vas_associator_config_t* config, vas_associator_t** out) {
  constexpr const char* fn = "vas_associator_create";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    std::string json;
    if (vas_status_t st = read_config(fn, "vas_associator_config_t", config, &json); st != VAS_OK)
      return st;
    auto cfg = vas::parse_associator_config(json);
    if (!cfg.is_ok()) return fail(cfg.status().with_context(fn));
    auto handle = std::make_unique<vas_associator>();
    handle->impl = std::make_unique<vas::Associator>(cfg.value());
    *out = handle.release();
    return VAS_OK;
  });
}

void vas_associator_destroy(vas_associator_t* associator) { delete associator; }

vas_status_t vas_associator_update(vas_associator_t* associator, vas_track_t* tracks, size_t n) {
  constexpr const char* fn = "vas_associator_update";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(associator != nullptr, fn, "associator is NULL");
    if (vas_status_t st = to_objects(fn, tracks, n, &associator->objects); st != VAS_OK) return st;
    associator->impl->update(&associator->objects);
    for (size_t i = 0; i < n; ++i)
      tracks[i].parent_track_id = associator->objects[i].parent_track_id;
    return VAS_OK;
  });
}

void vas_rules_config_init(vas_rules_config_t* config) {
  if (!config) return;
  std::memset(config, 0, sizeof(*config));
  config->struct_size = sizeof(*config);
}

vas_status_t vas_rules_create(const vas_rules_config_t* config, vas_rules_t** out) {
  constexpr const char* fn = "vas_rules_create";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    std::string json;
    if (vas_status_t st = read_config(fn, "vas_rules_config_t", config, &json); st != VAS_OK)
      return st;
    VAS_CHECK_ARG(!json.empty(), fn, "config.config_json is NULL or empty");
    auto cfg = vas::parse_rules_config(json);
    if (!cfg.is_ok()) return fail(cfg.status());
    auto eng = vas::RulesEngine::create(cfg.value());
    if (!eng.is_ok()) return fail(eng.status());
    auto handle = std::make_unique<vas_rules>();
    handle->impl = std::move(eng).value();
    *out = handle.release();
    return VAS_OK;
  });
}

void vas_rules_destroy(vas_rules_t* rules) { delete rules; }

vas_status_t vas_rules_update(vas_rules_t* rules, const vas_track_t* tracks, size_t n,
                              int64_t timestamp_us, const vas_best_shot_selector_t* shots,
                              const vas_event_t** out_events, size_t* out_count) {
  constexpr const char* fn = "vas_rules_update";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(rules != nullptr, fn, "rules is NULL");
    VAS_CHECK_ARG(out_events != nullptr && out_count != nullptr, fn,
                  "out_events or out_count is NULL");
    if (vas_status_t st = to_objects(fn, tracks, n, &rules->objects); st != VAS_OK) return st;
    vas::Status st = rules->impl->update(
        rules->objects, timestamp_us, vas::best_shot_lookup(shots ? shots->impl.get() : nullptr));
    if (!st.is_ok()) return fail(st.with_context(fn));
    export_events(rules, out_events, out_count);
    return VAS_OK;
  });
}

vas_status_t vas_rules_flush(vas_rules_t* rules, int64_t timestamp_us,
                             const vas_event_t** out_events, size_t* out_count) {
  constexpr const char* fn = "vas_rules_flush";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(rules != nullptr, fn, "rules is NULL");
    VAS_CHECK_ARG(out_events != nullptr && out_count != nullptr, fn,
                  "out_events or out_count is NULL");
    vas::Status st = rules->impl->flush(timestamp_us);
    if (!st.is_ok()) return fail(st.with_context(fn));
    export_events(rules, out_events, out_count);
    return VAS_OK;
  });
}

vas_status_t vas_rules_get_line_counts(const vas_rules_t* rules, const char* rule_id,
                                       int64_t* out_in, int64_t* out_out) {
  constexpr const char* fn = "vas_rules_get_line_counts";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(rules != nullptr && rule_id != nullptr, fn, "rules or rule_id is NULL");
    VAS_CHECK_ARG(out_in != nullptr && out_out != nullptr, fn, "out_in or out_out is NULL");
    vas::Result<vas::LineCounts> c = rules->impl->line_counts(std::string(rule_id));
    if (!c.is_ok()) return fail(c.status().with_context(fn));
    *out_in = c.value().in;
    *out_out = c.value().out;
    return VAS_OK;
  });
}

}  // extern "C"
