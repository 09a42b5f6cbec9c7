// The extern "C" layer of the trackers: argument checks, struct_size handling and the
// exception guard around csrc/track.
#include <vasdk/vasdk.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "capi_util.h"
#include "core/detection.h"
#include "track/tracker.h"

// Frozen layouts: these offsets are ABI. Grow structs only at the end.
static_assert(offsetof(vas_track_t, track_id) == 0, "ABI");
static_assert(offsetof(vas_track_t, parent_track_id) == 8, "ABI");
static_assert(offsetof(vas_track_t, x1) == 16, "ABI");
static_assert(offsetof(vas_track_t, score) == 32, "ABI");
static_assert(offsetof(vas_track_t, class_id) == 36, "ABI");
static_assert(offsetof(vas_track_t, state) == 40, "ABI");
static_assert(offsetof(vas_track_t, time_since_update) == 52, "ABI");
static_assert(offsetof(vas_track_t, landmarks) == 60, "ABI");
static_assert(offsetof(vas_track_t, reserved) == 100, "ABI");
static_assert(sizeof(vas_track_t) == 104, "ABI");
static_assert(offsetof(vas_tracker_config_t, config_json) == 8, "ABI");
static_assert(sizeof(vas_tracker_config_t) == 16, "ABI");
static_assert(VAS_TRACK_REMOVED == static_cast<int>(vas::TrackState::kRemoved), "states");
static_assert(VAS_TRACK_LOST == static_cast<int>(vas::TrackState::kLost), "states");
static_assert(VAS_TRACK_CONFIRMED == static_cast<int>(vas::TrackState::kConfirmed), "states");

struct vas_tracker {
  std::unique_ptr<vas::Tracker> impl;
  std::vector<vas::Detection> dets;
  std::vector<vas_track_t> out;
};

namespace {

using namespace vas_capi;  // NOLINT(google-build-using-namespace)

vas_status_t publish(vas_tracker* t, const vas_track_t** out_tracks, size_t* out_count) {
  const std::vector<vas::TrackedObject>& tracks = t->impl->tracks();
  t->out.resize(tracks.size());
  for (size_t i = 0; i < tracks.size(); ++i) {
    const vas::TrackedObject& s = tracks[i];
    vas_track_t& o = t->out[i];
    std::memset(&o, 0, sizeof(o));
    o.track_id = s.track_id;
    o.parent_track_id = s.parent_track_id;
    o.x1 = s.x1;
    o.y1 = s.y1;
    o.x2 = s.x2;
    o.y2 = s.y2;
    o.score = s.score;
    o.class_id = s.class_id;
    o.state = static_cast<int32_t>(s.state);
    o.hits = s.hits;
    o.age = s.age;
    o.time_since_update = s.time_since_update;
    o.num_landmarks = s.num_landmarks;
    std::memcpy(o.landmarks, s.landmarks, sizeof(o.landmarks));
  }
  *out_tracks = t->out.data();
  *out_count = t->out.size();
  return VAS_OK;
}

vas_status_t update(const char* fn, vas_tracker_t* tracker, const vas_detection_t* dets, size_t n,
                    const float* embeddings, size_t dim, int64_t timestamp_us,
                    const vas_track_t** out_tracks, size_t* out_count) {
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(tracker != nullptr, fn, "tracker is NULL");
    VAS_CHECK_ARG(out_tracks != nullptr && out_count != nullptr, fn,
                  "out_tracks or out_count is NULL");
    VAS_CHECK_ARG(dets != nullptr || n == 0, fn, "dets is NULL but n is " + std::to_string(n));
    VAS_CHECK_ARG(
        embeddings != nullptr || n == 0 || dim == 0, fn,
        "embeddings is NULL but n is " + std::to_string(n) + " and dim is " + std::to_string(dim));
    tracker->dets.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const vas_detection_t& s = dets[i];
      vas::Detection& d = tracker->dets[i];
      d.x1 = s.x1;
      d.y1 = s.y1;
      d.x2 = s.x2;
      d.y2 = s.y2;
      d.score = s.score;
      d.class_id = s.class_id;
      d.num_landmarks = s.num_landmarks;
      std::memcpy(d.landmarks, s.landmarks, sizeof(d.landmarks));
    }
    vas::Status st = tracker->impl->update(tracker->dets.data(), n, embeddings, dim, timestamp_us);
    if (!st.is_ok()) return fail(st.with_context(fn));
    return publish(tracker, out_tracks, out_count);
  });
}

}  // namespace

extern "C" {

void vas_tracker_config_init(vas_tracker_config_t* config) {
  if (!config) return;
  std::memset(config, 0, sizeof(*config));
  config->struct_size = sizeof(*config);
}

vas_status_t vas_tracker_create(const vas_tracker_config_t* config, vas_tracker_t** out) {
  constexpr const char* fn = "vas_tracker_create";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(config != nullptr, fn, "config is NULL");
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    vas_tracker_config_t cfg;
    if (!read_versioned(config, sizeof(vas_tracker_config_t), &cfg)) {
      return fail(VAS_ERR_INVALID_ARGUMENT, struct_size_message(fn, "vas_tracker_config_t",
                                                                config->struct_size, sizeof(cfg)));
    }
    auto tracker = vas::Tracker::create(cfg.config_json ? cfg.config_json : "");
    if (!tracker.is_ok()) return fail(tracker.status().with_context(fn));
    auto handle = std::make_unique<vas_tracker>();
    handle->impl = std::move(tracker).value();
    *out = handle.release();
    return VAS_OK;
  });
}

void vas_tracker_destroy(vas_tracker_t* tracker) { delete tracker; }

vas_status_t vas_tracker_update(vas_tracker_t* tracker, const vas_detection_t* dets, size_t n,
                                int64_t timestamp_us, const vas_track_t** out_tracks,
                                size_t* out_count) {
  return update("vas_tracker_update", tracker, dets, n, nullptr, 0, timestamp_us, out_tracks,
                out_count);
}

vas_status_t vas_tracker_update_embeddings(vas_tracker_t* tracker, const vas_detection_t* dets,
                                           size_t n, const float* embeddings, size_t dim,
                                           int64_t timestamp_us, const vas_track_t** out_tracks,
                                           size_t* out_count) {
  return update("vas_tracker_update_embeddings", tracker, dets, n, embeddings, dim, timestamp_us,
                out_tracks, out_count);
}

vas_status_t vas_tracker_predict(vas_tracker_t* tracker, int64_t timestamp_us,
                                 const vas_track_t** out_tracks, size_t* out_count) {
  constexpr const char* fn = "vas_tracker_predict";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(tracker != nullptr, fn, "tracker is NULL");
    VAS_CHECK_ARG(out_tracks != nullptr && out_count != nullptr, fn,
                  "out_tracks or out_count is NULL");
    vas::Status st = tracker->impl->predict(timestamp_us);
    if (!st.is_ok()) return fail(st.with_context(fn));
    return publish(tracker, out_tracks, out_count);
  });
}

}  // extern "C"
