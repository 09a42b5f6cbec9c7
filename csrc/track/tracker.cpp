#include "track/tracker.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/assignment.h"
#include "track/kalman.h"

namespace vas {

namespace {

// A cost no gate accepts (all limits are <= 1 + epsilon for IoU-based costs).
constexpr float kBlocked = 2.0f;

BoxF to_box(const Detection& d) { return {d.x1, d.y1, d.x2, d.y2}; }

// Both trackers share the track store and lifecycle; they differ in the motion model and in
// how detections are associated with tracks.
template <class Motion>
class KalmanTracker final : public Tracker {
 public:
  explicit KalmanTracker(const TrackerConfig& config)
      : config_(config),
        extended_costs_(config.center_weight > 0.0f || config.appearance_weight > 0.0f),
        // ByteTrack's low-score detections neither use nor update embeddings.
        emb_min_score_(config.type == TrackerType::kByteTrack ? config.track_thresh : -1.0f),
        dim_(static_cast<size_t>(config.embedding_dim)) {
    tracks_.reserve(128);
    out_.reserve(128);
  }

  Status update(const Detection* dets, size_t n, int64_t timestamp_us) override {
    return update(dets, n, nullptr, 0, timestamp_us);
  }

  Status update(const Detection* dets, size_t n, const float* embeddings, size_t dim,
                int64_t timestamp_us) override {
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
    VAS_RETURN_IF_ERROR(load_embeddings(embeddings, n, dim));
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
  void clear_tracks() override {
    tracks_.clear();
    out_.clear();
  }
  const TrackerConfig& config() const override { return config_; }
  int64_t frame_count() const override { return frame_count_; }
  size_t embedding_dim() const override { return dim_; }

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
    std::vector<float> emb;  // smoothed unit embedding; empty until a detection brings one
  };

  // Checks the frame's embeddings and copies them, L2-normalised, into det_emb_. Leaves the
  // tracker unchanged on error (the scratch copy is not state).
  Status load_embeddings(const float* embeddings, size_t n, size_t dim) {
    frame_has_emb_ = false;
    if (dim == 0) return Status::ok();
    if (config_.appearance_weight <= 0.0f) {
      return invalid_argument("tracker update: embeddings given but appearance_weight is 0");
    }
    if (dim_ != 0 && dim != dim_) {
      return invalid_argument("tracker update: embedding dim " + std::to_string(dim) +
                              " does not match the tracker's " + std::to_string(dim_));
    }
    if (dim > static_cast<size_t>(kMaxEmbeddingDim)) {
      return invalid_argument("tracker update: embedding dim " + std::to_string(dim) + " exceeds " +
                              std::to_string(kMaxEmbeddingDim));
    }
    if (n == 0) return Status::ok();
    if (embeddings == nullptr) {
      return invalid_argument("tracker update: embeddings is null but dim is " +
                              std::to_string(dim));
    }
    det_emb_.resize(n * dim);
    for (size_t i = 0; i < n; ++i) {
      const float* e = embeddings + i * dim;
      double sq = 0.0;
      for (size_t k = 0; k < dim; ++k) {
        if (!std::isfinite(e[k])) {
          return invalid_argument("tracker update: embedding " + std::to_string(i) +
                                  " has a non-finite value at " + std::to_string(k));
        }
        sq += static_cast<double>(e[k]) * e[k];
      }
      if (!(sq > 0.0) || !std::isfinite(sq)) {
        return invalid_argument("tracker update: embedding " + std::to_string(i) +
                                " has no direction (zero norm)");
      }
      const auto inv = static_cast<float>(1.0 / std::sqrt(sq));
      float* o = det_emb_.data() + i * dim;
      for (size_t k = 0; k < dim; ++k) o[k] = e[k] * inv;
    }
    dim_ = dim;  // fixed from here on
    frame_has_emb_ = true;
    return Status::ok();
  }

  const float* det_embedding(int d) const {
    return frame_has_emb_ ? det_emb_.data() + static_cast<size_t>(d) * dim_ : nullptr;
  }

  // Folds a matched detection's unit embedding into the track's moving average.
  void update_embedding(const float* e, Track* t) const {
    if (e == nullptr) return;
    if (t->emb.empty()) {
      t->emb.assign(e, e + dim_);
      return;
    }
    const float m = config_.appearance_momentum;
    double sq = 0.0;
    for (size_t k = 0; k < dim_; ++k) {
      t->emb[k] = m * t->emb[k] + (1.0f - m) * e[k];
      sq += static_cast<double>(t->emb[k]) * t->emb[k];
    }
    // Opposite embeddings can cancel out; restart from the new one rather than divide by ~0.
    if (sq > 1e-12) {
      const auto inv = static_cast<float>(1.0 / std::sqrt(sq));
      for (float& x : t->emb) x *= inv;
    } else {
      t->emb.assign(e, e + dim_);
    }
  }

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
  // cost (1 - IoU, optionally fused with the detection score, and with the optional centre
  // and appearance costs) is below limit. appearance: whether this stage may use embeddings.
  void match(const Detection* dets, float limit, bool fuse, bool appearance) {
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
    order_.resize(nc);
    float max_w = 0.0f;
    for (int j = 0; j < nc; ++j) {
      order_[j] = j;
      max_w = std::max(max_w, dx2_[j] - dx1_[j]);
    }
    std::sort(order_.begin(), order_.end(), [&](int a, int b) { return dx1_[a] < dx1_[b]; });
    sorted_x1_.resize(nc);
    for (int k = 0; k < nc; ++k) sorted_x1_[k] = dx1_[order_[k]];
    if (extended_costs_) {
      fused_costs(dets, max_w, appearance && frame_has_emb_);
    } else {
      iou_costs(dets, max_w);
    }
    solver_.solve(cost_.data(), nr, nc, limit, &row_match_, &col_match_);
    for (int i = 0; i < nr; ++i) {
      if (row_match_[i] < 0) continue;
      const int d = cols_[row_match_[i]];
      track_det_[rows_[i]] = d;
      det_used_[d] = 1;
    }
  }

  // 1 - IoU (times the detection score when fused). Only detections whose x-range can overlap
  // a track's need an IoU: scan [track.x1 - widest detection, track.x2) of the x1-sorted
  // detections per track. Every other pair costs 1.
  void iou_costs(const Detection* dets, float max_w) {
    const int nr = static_cast<int>(rows_.size()), nc = static_cast<int>(cols_.size());
    cost_.assign(static_cast<size_t>(nr) * nc, 1.0f);
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
      if (config_.per_class) block_other_classes(dets, t.class_id, crow);
    }
  }

  // The fused cost of TrackerConfig. Pairs outside the position gate stay blocked, so only
  // detections with x1 in [cx - gate - widest detection, cx + gate] are visited per track.
  void fused_costs(const Detection* dets, float max_w, bool appearance) {
    const int nr = static_cast<int>(rows_.size()), nc = static_cast<int>(cols_.size());
    const float wc = config_.center_weight, wa = appearance ? config_.appearance_weight : 0.0f;
    cost_.assign(static_cast<size_t>(nr) * nc, kBlocked);
    for (int i = 0; i < nr; ++i) {
      const Track& t = tracks_[rows_[i]];
      const BoxF b = t.box;
      const float tw = b.x2 - b.x1, th = b.y2 - b.y1, tarea = tw * th;
      const float tcx = 0.5f * (b.x1 + b.x2), tcy = 0.5f * (b.y1 + b.y2);
      const float gate = config_.center_gate * std::sqrt(tw * tw + th * th);
      const float* temb = wa > 0.0f && !t.emb.empty() ? t.emb.data() : nullptr;
      float* crow = cost_.data() + static_cast<size_t>(i) * nc;
      const auto first = std::lower_bound(sorted_x1_.begin(), sorted_x1_.end(), tcx - gate - max_w);
      for (auto k = static_cast<int>(first - sorted_x1_.begin());
           k < nc && sorted_x1_[k] <= tcx + gate; ++k) {
        const int j = order_[k];
        const float dx = 0.5f * (dx1_[j] + dx2_[j]) - tcx, dy = 0.5f * (dy1_[j] + dy2_[j]) - tcy;
        const float rho2 = dx * dx + dy * dy;
        if (rho2 > gate * gate) continue;
        const float iw = std::max(0.0f, std::min(b.x2, dx2_[j]) - std::max(b.x1, dx1_[j]));
        const float ih = std::max(0.0f, std::min(b.y2, dy2_[j]) - std::max(b.y1, dy1_[j]));
        const float inter = iw * ih;
        const float uni = tarea + darea_[j] - inter;
        const float iou = uni > 0.0f ? inter / uni : 0.0f;
        const float cw = std::max(b.x2, dx2_[j]) - std::min(b.x1, dx1_[j]);
        const float ch = std::max(b.y2, dy2_[j]) - std::min(b.y1, dy1_[j]);
        const float c2 = cw * cw + ch * ch;
        const float g =
            (1.0f - wc) * (1.0f - iou * dscore_[j]) + wc * (c2 > 0.0f ? rho2 / c2 : 0.0f);
        float cost = g;
        if (temb != nullptr) {
          const float* demb = det_embedding(cols_[j]);
          float dot = 0.0f;
          for (size_t k2 = 0; k2 < dim_; ++k2) dot += temb[k2] * demb[k2];
          const float cd = 1.0f - dot;
          if (cd > config_.appearance_gate) continue;
          cost = (1.0f - wa) * g + wa * std::min(1.0f, std::max(0.0f, cd));
        }
        crow[j] = cost;
      }
      if (config_.per_class) block_other_classes(dets, t.class_id, crow);
    }
  }

  void block_other_classes(const Detection* dets, int class_id, float* crow) const {
    for (size_t j = 0; j < cols_.size(); ++j) {
      if (dets[cols_[j]].class_id != class_id) crow[j] = kBlocked;
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
    match(dets, 1.0f - config_.iou_threshold + 1e-6f, false, true);
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
    match(dets, config_.match_thresh, config_.fuse_score, true);
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
    match(dets, config_.second_match_thresh, false, false);
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
    match(dets, config_.unconfirmed_match_thresh, config_.fuse_score, true);
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
        if (d.score >= emb_min_score_) update_embedding(det_embedding(di), &tr);
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
      update_embedding(det_embedding(static_cast<int>(d)), &tr);
      tracks_.push_back(std::move(tr));
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
  bool extended_costs_ = false;  // center or appearance weight > 0: fused_costs()
  float emb_min_score_ = 0;
  size_t dim_ = 0;              // embedding length once known
  bool frame_has_emb_ = false;  // this update carries embeddings (in det_emb_)
  std::vector<float> det_emb_;
  // Per-frame scratch, kept to avoid allocating in steady state.
  std::vector<int> track_det_, rows_, cols_, low_rows_, row_match_, col_match_;
  std::vector<char> det_used_;
  std::vector<float> cost_, dx1_, dy1_, dx2_, dy2_, darea_, dscore_, sorted_x1_;
  std::vector<int> order_;
  AssignmentSolver solver_;
};

}  // namespace

Result<std::unique_ptr<Tracker>> Tracker::create(const TrackerConfig& config) {
  VAS_RETURN_IF_ERROR(check_tracker_config(config));
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
