// Multi-object trackers: SORT and ByteTrack over a constant-velocity Kalman filter.
//
// One tracker per channel. Track ids are per tracker instance, start at 1 and are never
// reused. Each call advances the tracker by one frame:
//  - update(dets, n, t) for a frame on which detection ran (n may be 0: nothing was seen);
//  - predict(t) for a frame on which detection was skipped: tracks coast on their motion
//    model and keep their state, so detection can run every Nth frame without losing ids.
//
// Lifecycle: a new track is tentative; it becomes confirmed after min_hits consecutive
// matches (immediately when min_hits is 1). A tentative track missed on a detection frame is
// removed. A confirmed track missed on a detection frame becomes lost; a lost track that is
// matched again is confirmed again, and one that stays unmatched for more than max_age frames
// is removed. Every call reports each live track (tentative, confirmed or lost) once, and
// each track removed on that frame once more with state kRemoved, so consumers see every end.
//
// Thread safety: a Tracker is used by one thread at a time; it has no threads of its own.
// Ownership: results are owned by the tracker and valid until its next call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/detection.h"
#include "core/status.h"

namespace vas {

enum class TrackerType { kSort, kByteTrack };

// Options of both trackers. JSON field names are the member names; "type" picks the tracker.
struct TrackerConfig {
  TrackerType type = TrackerType::kByteTrack;
  int min_hits = 3;        // consecutive matches before a track is confirmed (>= 1)
  int max_age = 30;        // frames a lost track is kept before it is removed (>= 0)
  bool per_class = false;  // only match detections of the track's class
  // Confirm tracks born on the first frame at once, as ByteTrack and SORT do: nothing came
  // before them to confirm them against.
  bool confirm_first_frame = false;
  // SORT: detections below min_score are ignored; a match needs IoU >= iou_threshold.
  float min_score = 0.0f;
  float iou_threshold = 0.3f;
  // ByteTrack: detections >= track_thresh are "high", [low_thresh, track_thresh) "low";
  // new tracks start from unmatched high detections >= high_thresh. match_thresh is the
  // largest 1 - IoU (score-fused when fuse_score) accepted in the first association,
  // second_match_thresh for low detections, unconfirmed_match_thresh for tentative tracks.
  // Defaults measured with benchmarks/tune_bytetrack.py on TUD-Campus with the score spreads of
  // the shipped detectors (yolov3-tiny keeps scores >= 0.25, CenterFace >= 0.5) and a uniform
  // [0.3, 1) spread: 0.5 / 0.6 left true boxes scored 0.3..0.5 unable to start tracks and
  // cost 0.02..0.06 MOTA.
  float track_thresh = 0.2f;
  float low_thresh = 0.1f;
  float high_thresh = 0.25f;
  float match_thresh = 0.8f;
  float second_match_thresh = 0.5f;
  float unconfirmed_match_thresh = 0.7f;
  bool fuse_score = true;

  // Optional costs beyond IoU, both trackers. With both weights 0 (the default) the cost is
  // 1 - IoU alone. Otherwise, for a track box T and a detection box D:
  //   geometric  g = (1 - center_weight) * (1 - IoU) + center_weight * rho^2 / c^2
  //   fused      cost = (1 - appearance_weight) * g + appearance_weight * min(1, cos_dist)
  // where rho is the distance between the box centres and c the diagonal of the smallest box
  // enclosing T and D (DIoU's penalty, Zheng et al. 2020: scale-invariant, in [0, 1), and
  // still informative when the boxes do not overlap). cos_dist is 1 - cosine similarity of
  // the track's smoothed embedding and the detection's; a pair where either has none uses
  // g alone. The fused cost is gated by the same thresholds as 1 - IoU, and in addition a
  // pair never matches when rho > center_gate * diagonal(T) (position gate: far-away
  // detections are never matched however similar they look) or cos_dist > appearance_gate.
  // Mixing lowers the cost of overlapping pairs too ((1 - w) * (1 - IoU) < 1 - IoU), so the
  // thresholds tuned for IoU alone become more lenient: lower them when raising a weight.
  float center_weight = 0.0f;
  // Half a diagonal per frame: on TUD-Campus and on the benchmark's synthetic scene a gate of
  // 0.5 scored better (HOTA, IDF1) than 1.0 with the same weights.
  float center_gate = 0.5f;
  // Appearance: each track keeps an exponential moving average of its detections' L2-
  // normalised embeddings, ema = momentum * ema + (1 - momentum) * e, renormalised (as
  // BoT-SORT). ByteTrack uses appearance for high-score detections only: low-score ones are
  // mostly occluded or blurred, so they neither use nor update a track's embedding.
  float appearance_weight = 0.0f;
  float appearance_momentum = 0.9f;
  float appearance_gate = 0.4f;
  // Embedding length; 0 means it is fixed by the first update that carries embeddings.
  int embedding_dim = 0;
};

// Limits of the range-checked options.
constexpr float kMinCenterGate = 0.01f;
constexpr float kMaxCenterGate = 100.0f;
constexpr int kMaxEmbeddingDim = 4096;

// Range checks of a TrackerConfig built in code; errors name the field.
Status check_tracker_config(const TrackerConfig& config);

// Parses a JSON object such as {"type": "bytetrack", "track_thresh": 0.5}. Missing fields
// keep their defaults (min_hits defaults to 3 for SORT and 2 for ByteTrack); unknown fields,
// fields of the other tracker type, wrong types and out-of-range values are kInvalidConfig
// errors that name the field. An empty string means all defaults (ByteTrack).
Result<TrackerConfig> parse_tracker_config(const std::string& json);

class Tracker {
 public:
  virtual ~Tracker() = default;

  // Creates the tracker the config names.
  static Result<std::unique_ptr<Tracker>> create(const TrackerConfig& config);
  static Result<std::unique_ptr<Tracker>> create(const std::string& config_json);

  // A frame on which detection ran. dets may be null when n is 0. timestamp_us must not go
  // backwards. Invalid boxes (non-finite, x2 < x1, y2 < y1) or non-finite scores are
  // kInvalidArgument errors naming the detection, and leave the tracker unchanged.
  virtual Status update(const Detection* dets, size_t n, int64_t timestamp_us) = 0;

  // The same with one appearance embedding per detection: embeddings is n x dim floats, row
  // i for dets[i], any scale (rows are L2-normalised here). dim 0 means no embeddings (then
  // embeddings may be null). Needs appearance_weight > 0; dim must equal embedding_dim (or
  // the first dim used when that is 0). A null array with dim > 0, a dim mismatch, non-finite
  // values or an all-zero row are kInvalidArgument errors and leave the tracker unchanged.
  virtual Status update(const Detection* dets, size_t n, const float* embeddings, size_t dim,
                        int64_t timestamp_us) = 0;

  // A frame on which detection did not run: every track is predicted one frame ahead.
  virtual Status predict(int64_t timestamp_us) = 0;

  // Forgets every track, as after a gap in the source. Ids keep counting, so no id is ever
  // reused; tracks() is empty until the next call.
  virtual void clear_tracks() = 0;

  // Tracks reported by the last call, ordered by track id.
  virtual const std::vector<TrackedObject>& tracks() const = 0;

  virtual const TrackerConfig& config() const = 0;
  // Number of frames processed (update and predict calls).
  virtual int64_t frame_count() const = 0;
  // Embedding length in use: embedding_dim, or the first dim given, or 0 before that.
  virtual size_t embedding_dim() const = 0;
};

}  // namespace vas
