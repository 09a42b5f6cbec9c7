#include "track/tracker.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/assignment.h"
#include "track/kalman.h"

namespace vas {

namespace {

using json = nlohmann::json;

// A cost no gate accepts (all limits are <= 1 + epsilon for IoU-based costs).
constexpr float kBlocked = 2.0f;

Status field_error(const std::string& field, const std::string& why) {
  return invalid_config("tracker config: field '" + field + "' " + why);
}

Status read_int(const std::string& key, const json& v, int lo, int hi, int* out) {
  if (!v.is_number_integer()) return field_error(key, "must be an integer");
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) {
    return field_error(key, "is " + std::to_string(x) + ", outside " + std::to_string(lo) + ".." +
                                std::to_string(hi));
  }
  *out = static_cast<int>(x);
  return Status::ok();
}

Status read_float(const std::string& key, const json& v, float lo, float hi, float* out) {
  if (!v.is_number()) return field_error(key, "must be a number");
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) {
    return field_error(key, "is " + std::to_string(x) + ", outside " + std::to_string(lo) + ".." +
                                std::to_string(hi));
  }
  *out = static_cast<float>(x);
  return Status::ok();
}

Status read_bool(const std::string& key, const json& v, bool* out) {
  if (!v.is_boolean()) return field_error(key, "must be true or false");
  *out = v.get<bool>();
  return Status::ok();
}

BoxF to_box(const Detection& d) { return {d.x1, d.y1, d.x2, d.y2}; }

// Both trackers share the track store and lifecycle; they differ in the motion model and in
// how detections are associated with tracks.
template <class Motion>
class KalmanTracker final : public Tracker {
 public:
  explicit KalmanTracker(const TrackerConfig& config) : config_(config) {
    tracks_.reserve(128);
    out_.reserve(128);
  }

  Status update(const Detection* dets, size_t n, int64_t timestamp_us) override {
    if (n > 0 && dets == nullptr) {
      return invalid_argument("tracker update: detections is null but count is " +
                              std::to_string(n));
    }
    VAS_RETURN_IF_ERROR(check_timestamp(timestamp_us));
    for (size_t i = 0; i < n; ++i) {
      const Detection& d = dets[i];
      if (!std::isfinite(d.x1) || !std::isfinite(d.y1) || !std::isfinite(d.x2) ||
          !std::isfinite(d.y2) || !std::isfinite(d.score)) {
        return invalid_argument("tracker update: detection " + std::to_string(i) +
                                " has a non-finite box or score");
      }
      if (d.x2 < d.x1 || d.y2 < d.y1) {
        return invalid_argument("tracker update: detection " + std::to_string(i) +
                                " has x2 < x1 or y2 < y1");
      }
      if (d.num_landmarks < 0 || d.num_landmarks > 5) {
        return invalid_argument("tracker update: detection " + std::to_string(i) +
                                " has num_landmarks " + std::to_string(d.num_landmarks) +
                                ", expected 0..5");
      }
    }
    begin_frame(timestamp_us);
    track_det_.assign(tracks_.size(), -1);
    det_used_.assign(n, 0);
    if (config_.type == TrackerType::kSort) {
      associate_sort(dets, n);
    } else {
      associate_bytetrack(dets, n);
    }
    apply(dets, n);
    emit();
    return Status::ok();
  }

  Status predict(int64_t timestamp_us) override {
    VAS_RETURN_IF_ERROR(check_timestamp(timestamp_us));
    begin_frame(timestamp_us);
    for (Track& t : tracks_) {
      if (t.state == TrackState::kLost && t.time_since_update > config_.max_age) {
        t.state = TrackState::kRemoved;
      }
    }
    emit();
    return Status::ok();
  }

  const std::vector<TrackedObject>& tracks() const override { return out_; }
  const TrackerConfig& config() const override { return config_; }
  int64_t frame_count() const override { return frame_count_; }

 private:
  struct Track {
    typename Motion::State kf;
    BoxF box;  // the filter's current box
    int64_t id = 0;
    int class_id = 0;
    float score = 0;
    TrackState state = TrackState::kTentative;
    int hits = 0;
    int hit_streak = 0;
    int age = 0;
    int time_since_update = 0;
    int num_landmarks = 0;
    float landmarks[10] = {};
  };

  Status check_timestamp(int64_t timestamp_us) const {
    if (frame_count_ > 0 && timestamp_us < last_timestamp_us_) {
      return invalid_argument("tracker: timestamp_us " + std::to_string(timestamp_us) +
                              " is earlier than the previous frame's " +
                              std::to_string(last_timestamp_us_));
    }
    return Status::ok();
  }

  // Drops the tracks reported as removed last frame and predicts the others one frame ahead.
  void begin_frame(int64_t timestamp_us) {
    ++frame_count_;
    last_timestamp_us_ = timestamp_us;
    tracks_.erase(std::remove_if(tracks_.begin(), tracks_.end(),
                                 [](const Track& t) { return t.state == TrackState::kRemoved; }),
                  tracks_.end());
    for (Track& t : tracks_) {
      Motion::predict(&t.kf);
      t.box = Motion::box(t.kf);
      ++t.age;
      ++t.time_since_update;
    }
  }

  // Matches the tracks in rows_ against the detections in cols_; a pair is accepted when its
  // cost (1 - IoU, optionally fused with the detection score) is below limit.
  void match(const Detection* dets, float limit, bool fuse) {
    const int nr = static_cast<int>(rows_.size()), nc = static_cast<int>(cols_.size());
    if (nr == 0 || nc == 0) return;
    // Detections as structure-of-arrays so the IoU loop below vectorises.
    dx1_.resize(nc);
    dy1_.resize(nc);
    dx2_.resize(nc);
    dy2_.resize(nc);
    darea_.resize(nc);
    dscore_.resize(nc);
    for (int j = 0; j < nc; ++j) {
      const Detection& d = dets[cols_[j]];
      dx1_[j] = d.x1;
      dy1_[j] = d.y1;
      dx2_[j] = d.x2;
      dy2_[j] = d.y2;
      darea_[j] = (d.x2 - d.x1) * (d.y2 - d.y1);
      dscore_[j] = fuse ? d.score : 1.0f;
    }
    // Only detections whose x-range can overlap a track's need an IoU: sort them by x1 and
    // scan [track.x1 - widest detection, track.x2) per track. Every other pair costs 1.
    cost_.assign(static_cast<size_t>(nr) * nc, 1.0f);
    order_.resize(nc);
    float max_w = 0.0f;
    for (int j = 0; j < nc; ++j) {
      order_[j] = j;
      max_w = std::max(max_w, dx2_[j] - dx1_[j]);
    }
    std::sort(order_.begin(), order_.end(), [&](int a, int b) { return dx1_[a] < dx1_[b]; });
    sorted_x1_.resize(nc);
    for (int k = 0; k < nc; ++k) sorted_x1_[k] = dx1_[order_[k]];
    for (int i = 0; i < nr; ++i) {
      const Track& t = tracks_[rows_[i]];
      const BoxF b = t.box;
      const float tarea = (b.x2 - b.x1) * (b.y2 - b.y1);
      float* crow = cost_.data() + static_cast<size_t>(i) * nc;
      const auto first = std::lower_bound(sorted_x1_.begin(), sorted_x1_.end(), b.x1 - max_w);
      for (auto k = static_cast<int>(first - sorted_x1_.begin()); k < nc && sorted_x1_[k] < b.x2;
           ++k) {
        const int j = order_[k];
        const float iw = std::max(0.0f, std::min(b.x2, dx2_[j]) - std::max(b.x1, dx1_[j]));
        const float ih = std::max(0.0f, std::min(b.y2, dy2_[j]) - std::max(b.y1, dy1_[j]));
        const float inter = iw * ih;
        if (inter > 0.0f) crow[j] = 1.0f - inter / (tarea + darea_[j] - inter) * dscore_[j];
      }
      if (config_.per_class) {
        for (int j = 0; j < nc; ++j) {
          if (dets[cols_[j]].class_id != t.class_id) crow[j] = kBlocked;
        }
      }
    }
    solver_.solve(cost_.data(), nr, nc, limit, &row_match_, &col_match_);
    for (int i = 0; i < nr; ++i) {
      if (row_match_[i] < 0) continue;
      const int d = cols_[row_match_[i]];
      track_det_[rows_[i]] = d;
      det_used_[d] = 1;
    }
  }

  void associate_sort(const Detection* dets, size_t n) {
    rows_.clear();
    cols_.clear();
    for (size_t t = 0; t < tracks_.size(); ++t) rows_.push_back(static_cast<int>(t));
    for (size_t d = 0; d < n; ++d) {
      if (dets[d].score >= config_.min_score) {
        cols_.push_back(static_cast<int>(d));
      } else {
        det_used_[d] = 1;  // too weak to match or to start a track
      }
    }
    // cost < limit  <=>  IoU > iou_threshold - 1e-6.
    match(dets, 1.0f - config_.iou_threshold + 1e-6f, false);
    new_track_min_score_ = config_.min_score;
  }

  void associate_bytetrack(const Detection* dets, size_t n) {
    // 1. Confirmed and lost tracks against high-score detections.
    rows_.clear();
    cols_.clear();
    for (size_t t = 0; t < tracks_.size(); ++t) {
      if (tracks_[t].state != TrackState::kTentative) rows_.push_back(static_cast<int>(t));
    }
    for (size_t d = 0; d < n; ++d) {
      if (dets[d].score >= config_.track_thresh) cols_.push_back(static_cast<int>(d));
    }
    match(dets, config_.match_thresh, config_.fuse_score);
    // 2. Confirmed tracks still unmatched against low-score detections.
    low_rows_.clear();
    for (int t : rows_) {
      if (track_det_[t] < 0 && tracks_[t].state == TrackState::kConfirmed) low_rows_.push_back(t);
    }
    rows_.swap(low_rows_);
    cols_.clear();
    for (size_t d = 0; d < n; ++d) {
      if (dets[d].score >= config_.low_thresh && dets[d].score < config_.track_thresh) {
        cols_.push_back(static_cast<int>(d));
      }
    }
    match(dets, config_.second_match_thresh, false);
    // Low detections never start tracks.
    for (size_t d = 0; d < n; ++d) {
      if (dets[d].score < config_.track_thresh) det_used_[d] = 1;
    }
    // 3. Tentative tracks against the high-score detections left over.
    rows_.clear();
    cols_.clear();
    for (size_t t = 0; t < tracks_.size(); ++t) {
      if (tracks_[t].state == TrackState::kTentative) rows_.push_back(static_cast<int>(t));
    }
    for (size_t d = 0; d < n; ++d) {
      if (!det_used_[d]) cols_.push_back(static_cast<int>(d));
    }
    match(dets, config_.unconfirmed_match_thresh, config_.fuse_score);
    new_track_min_score_ = config_.high_thresh;
  }

  // Applies the matches, ages the unmatched tracks and starts new ones.
  void apply(const Detection* dets, size_t n) {
    const size_t existing = tracks_.size();
    for (size_t t = 0; t < existing; ++t) {
      Track& tr = tracks_[t];
      const int di = track_det_[t];
      if (di >= 0) {
        const Detection& d = dets[di];
        Motion::update(to_box(d), &tr.kf);
        tr.box = Motion::box(tr.kf);
        tr.score = d.score;
        tr.class_id = d.class_id;
        tr.num_landmarks = d.num_landmarks;
        std::memcpy(tr.landmarks, d.landmarks, sizeof(tr.landmarks));
        ++tr.hits;
        ++tr.hit_streak;
        tr.time_since_update = 0;
        if (tr.state == TrackState::kLost ||
            (tr.state == TrackState::kTentative && tr.hit_streak >= config_.min_hits)) {
          tr.state = TrackState::kConfirmed;
        }
      } else {
        tr.hit_streak = 0;
        if (tr.state == TrackState::kTentative) {
          tr.state = TrackState::kRemoved;
        } else if (tr.state == TrackState::kConfirmed) {
          tr.state = TrackState::kLost;
        }
        if (tr.state == TrackState::kLost && tr.time_since_update > config_.max_age) {
          tr.state = TrackState::kRemoved;
        }
      }
    }
    for (size_t d = 0; d < n; ++d) {
      if (det_used_[d] || dets[d].score < new_track_min_score_) continue;
      Track tr;
      Motion::initiate(to_box(dets[d]), &tr.kf);
      tr.box = Motion::box(tr.kf);
      tr.id = next_id_++;
      tr.class_id = dets[d].class_id;
      tr.score = dets[d].score;
      const bool at_once =
          config_.min_hits <= 1 || (config_.confirm_first_frame && frame_count_ == 1);
      tr.state = at_once ? TrackState::kConfirmed : TrackState::kTentative;
      tr.hits = tr.hit_streak = tr.age = 1;
      tr.num_landmarks = dets[d].num_landmarks;
      std::memcpy(tr.landmarks, dets[d].landmarks, sizeof(tr.landmarks));
      tracks_.push_back(tr);
    }
  }

  void emit() {
    out_.clear();
    for (const Track& t : tracks_) {
      TrackedObject o;
      o.track_id = t.id;
      o.class_id = t.class_id;
      const bool fresh = t.time_since_update == 0;
      o.score = fresh ? t.score : 0.0f;
      o.x1 = t.box.x1;
      o.y1 = t.box.y1;
      o.x2 = t.box.x2;
      o.y2 = t.box.y2;
      o.state = t.state;
      o.hits = t.hits;
      o.age = t.age;
      o.time_since_update = t.time_since_update;
      if (fresh) {
        o.num_landmarks = t.num_landmarks;
        std::memcpy(o.landmarks, t.landmarks, sizeof(o.landmarks));
      }
      out_.push_back(o);
    }
  }

  TrackerConfig config_;
  std::vector<Track> tracks_;  // in id order: new tracks are appended, removal is stable
  std::vector<TrackedObject> out_;
  int64_t next_id_ = 1;
  int64_t frame_count_ = 0;
  int64_t last_timestamp_us_ = 0;
  float new_track_min_score_ = 0;
  // Per-frame scratch, kept to avoid allocating in steady state.
  std::vector<int> track_det_, rows_, cols_, low_rows_, row_match_, col_match_;
  std::vector<char> det_used_;
  std::vector<float> cost_, dx1_, dy1_, dx2_, dy2_, darea_, dscore_, sorted_x1_;
  std::vector<int> order_;
  AssignmentSolver solver_;
};

}  // namespace

Result<TrackerConfig> parse_tracker_config(const std::string& text) {
  TrackerConfig c;
  c.min_hits = 2;
  if (std::all_of(text.begin(), text.end(), [](unsigned char ch) { return std::isspace(ch); })) {
    return c;
  }
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return invalid_config(std::string("tracker config: invalid JSON: ") + e.what());
  }
  if (!j.is_object()) return invalid_config("tracker config: expected a JSON object");
  if (auto it = j.find("type"); it != j.end()) {
    if (!it->is_string()) return field_error("type", "must be a string");
    const std::string type = it->get<std::string>();
    if (type == "sort") {
      c.type = TrackerType::kSort;
      c.min_hits = 3;
    } else if (type != "bytetrack") {
      return field_error("type", "is '" + type + "', expected 'sort' or 'bytetrack'");
    }
  }
  const bool sort = c.type == TrackerType::kSort;
  for (const auto& [key, v] : j.items()) {
    const auto only = [&, &key = key](bool ok) -> Status {  // C++17: no binding captures
      if (ok) return Status::ok();
      return field_error(
          key, std::string("does not apply to type '") + (sort ? "sort" : "bytetrack") + "'");
    };
    if (key == "type") continue;
    if (key == "min_hits") {
      VAS_RETURN_IF_ERROR(read_int(key, v, 1, 1000000, &c.min_hits));
    } else if (key == "max_age") {
      VAS_RETURN_IF_ERROR(read_int(key, v, 0, 1000000, &c.max_age));
    } else if (key == "per_class") {
      VAS_RETURN_IF_ERROR(read_bool(key, v, &c.per_class));
    } else if (key == "confirm_first_frame") {
      VAS_RETURN_IF_ERROR(read_bool(key, v, &c.confirm_first_frame));
    } else if (key == "min_score") {
      VAS_RETURN_IF_ERROR(only(sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.min_score));
    } else if (key == "iou_threshold") {
      VAS_RETURN_IF_ERROR(only(sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.iou_threshold));
    } else if (key == "track_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.track_thresh));
    } else if (key == "low_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.low_thresh));
    } else if (key == "high_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.high_thresh));
    } else if (key == "match_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.match_thresh));
    } else if (key == "second_match_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.second_match_thresh));
    } else if (key == "unconfirmed_match_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.unconfirmed_match_thresh));
    } else if (key == "fuse_score") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_bool(key, v, &c.fuse_score));
    } else {
      return field_error(key, "is unknown");
    }
  }
  if (!sort && c.low_thresh > c.track_thresh) {
    return field_error("low_thresh", "must not exceed track_thresh");
  }
  return c;
}

Result<std::unique_ptr<Tracker>> Tracker::create(const TrackerConfig& config) {
  if (config.min_hits < 1) return field_error("min_hits", "must be >= 1");
  if (config.max_age < 0) return field_error("max_age", "must be >= 0");
  std::unique_ptr<Tracker> t;
  if (config.type == TrackerType::kSort) {
    t = std::make_unique<KalmanTracker<SortMotion>>(config);
  } else {
    t = std::make_unique<KalmanTracker<XyahMotion>>(config);
  }
  return t;
}

Result<std::unique_ptr<Tracker>> Tracker::create(const std::string& config_json) {
  VAS_ASSIGN_OR_RETURN(TrackerConfig config, parse_tracker_config(config_json));
  return create(config);
}

}  // namespace vas
