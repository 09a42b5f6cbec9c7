#include "select/best_shot.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/config_reader.h"
#include "select/block_grid.h"

namespace vas {

Result<BestShotConfig> parse_best_shot_config(const std::string& text) {
  BestShotConfig c;
  if (text.empty()) return c;
  VAS_ASSIGN_OR_RETURN(nlohmann::json doc, parse_config_json(text, "best-shot config"));
  ConfigObject o(doc, "", "best-shot config");
  double d = 0;
  o.opt("top_k", &c.top_k, in_range(1, 64));
  if (o.opt("interval_s", &d, in_range(0, 1e6))) c.interval_us = std::llround(d * 1e6);
  o.opt("margin", &c.margin, in_range(0, 2));
  o.opt("jpeg", &c.jpeg);
  o.opt("jpeg_quality", &c.jpeg_quality, in_range(1, 100));
  o.opt("max_missing", &c.max_missing, in_range(0, 1000000));
  o.opt("min_quality", &c.min_quality, in_range(0, 1));
  o.opt("classes", &c.classes, in_range(0, 1 << 20));
  o.opt("max_transient", &c.max_transient, in_range(0, 1000));
  o.opt("signature_cell", &c.signature_cell, in_range(1, 1e4));
  if (o.opt("pool_mb", &d, in_range(0.0625, 65536))) {
    c.pool_bytes = static_cast<size_t>(d * 1024 * 1024);
  }
  o.opt("size_ref", &c.quality.size_ref, in_range_open_lo(0, 1e5));
  o.opt("sharpness_ref", &c.quality.sharpness_ref, in_range_open_lo(0, 1e9));
  o.opt("edge_margin", &c.quality.edge_margin, in_range(0, 1e4));
  o.opt("aspect", &c.quality.aspect, in_range(0, 100));
  ConfigObject w = o.object("weights");
  QualityWeights& qw = c.quality.weights;
  for (auto [key, dst] : {std::pair<const char*, float*>{"detector", &qw.detector},
                          {"size", &qw.size},
                          {"sharpness", &qw.sharpness},
                          {"truncation", &qw.truncation},
                          {"aspect", &qw.aspect},
                          {"frontal", &qw.frontal}}) {
    w.opt(key, dst, in_range(0, 1000));
  }
  VAS_RETURN_IF_ERROR(w.finish());
  VAS_RETURN_IF_ERROR(o.finish());
  return c;
}

void BestShotSelector::judge_noise(Track* track, QualityTerms* q) {
  std::vector<double>& h = track->noise;
  if (h.size() < kNoiseHistory) {
    h.push_back(q->noise_sigma);
  } else {
    h[track->noise_next] = q->noise_sigma;
    track->noise_next = (track->noise_next + 1) % kNoiseHistory;
  }
  // The lower median: with one clean and one noisy observation, the clean one is typical.
  std::vector<double> sorted(h);
  const auto mid = sorted.begin() + static_cast<std::ptrdiff_t>((sorted.size() - 1) / 2);
  std::nth_element(sorted.begin(), mid, sorted.end());
  const double typical = *mid;
  auto judge = [typical](QualityTerms* t) {
    t->damage = std::max(t->structural, noise_damage(t->noise_sigma, typical));
    t->total = t->undamaged * (1.0f - t->damage);
  };
  judge(q);
  for (BestShotCrop& c : track->crops) judge(&c.quality);
  if (track->held_has_crop) judge(&track->held_crop.quality);
  std::stable_sort(track->crops.begin(), track->crops.end(),
                   [](const BestShotCrop& a, const BestShotCrop& b) {
                     return a.quality.total > b.quality.total;
                   });
}

Result<std::unique_ptr<BestShotSelector>> BestShotSelector::create(const BestShotConfig& config) {
  if (config.top_k < 1) return invalid_config("top_k: must be at least 1");
  if (config.jpeg_quality < 1 || config.jpeg_quality > 100)
    return invalid_config("jpeg_quality: must be in 1..100");
  PoolConfig pc;
  pc.name = "best-shot crops";
  pc.min_block = 16 << 10;
  pc.max_block = std::max<size_t>(config.pool_bytes, pc.min_block);
  pc.capacity_bytes = pc.max_block;
  pc.thread_safe = false;  // one selector per channel, one call at a time
  auto pool = Pool::create(pc);
  if (!pool.is_ok()) return pool.status().with_context("best-shot selector");
  std::unique_ptr<BestShotSelector> sel(new BestShotSelector(config));
  sel->pool_ = std::move(pool).value();
  return sel;
}

Status BestShotSelector::emit(int64_t track_id, Track* t, BestShotReason reason, int64_t ts,
                              bool move) {
  // Damage is never a best shot, not even a track's only one. Kept crops are judged again as
  // the track's noise history grows, so they are filtered here rather than when kept.
  auto damaged = [](const BestShotCrop& c) { return c.quality.damage > 0; };
  if (move)
    t->crops.erase(std::remove_if(t->crops.begin(), t->crops.end(), damaged), t->crops.end());
  if (move && t->crops.empty() && t->has_fallback && !damaged(t->fallback)) {
    t->crops.push_back(std::move(t->fallback));
    t->has_fallback = false;
  }
  if (std::all_of(t->crops.begin(), t->crops.end(), damaged)) return Status::ok();
  BestShotRecord r;
  r.track_id = track_id;
  r.class_id = t->class_id;
  r.reason = reason;
  r.timestamp_us = ts;
  r.first_seen_us = t->first_seen_us;
  r.last_seen_us = t->last_seen_us;
  if (move) {
    r.crops = std::move(t->crops);
    t->crops.clear();
  } else {
    r.crops.reserve(t->crops.size());
    for (const BestShotCrop& c : t->crops) {
      if (damaged(c)) continue;
      BestShotCrop copy;
      copy.shot_id = c.shot_id;
      copy.timestamp_us = c.timestamp_us;
      copy.frame_index = c.frame_index;
      copy.x1 = c.x1, copy.y1 = c.y1, copy.x2 = c.x2, copy.y2 = c.y2;
      copy.crop_x = c.crop_x, copy.crop_y = c.crop_y;
      copy.quality = c.quality;
      copy.image = c.image;  // shares the pooled pixels; they are never written again
      r.crops.push_back(std::move(copy));
    }
  }
  if (config_.jpeg) {
    for (BestShotCrop& c : r.crops) {
      VAS_RETURN_IF_ERROR(jpeg_.encode(c.image.view, config_.jpeg_quality, &c.jpeg)
                              .with_context("best shot of track " + std::to_string(track_id)));
    }
  }
  records_.push_back(std::move(r));
  return Status::ok();
}

void BestShotSelector::keep(Track* t, BestShotCrop&& c) {
  // A crop with structural damage is never emitted, so it must not take a place of the top K
  // either: with top_k 1 it would shut out every later clean crop of lower total, and the track
  // would end with no best shot at all. (Noise damage is judged again as the track's history
  // grows, so a noisy crop may still become clean and keeps its place.)
  if (c.quality.structural > 0) return;
  const bool full = static_cast<int>(t->crops.size()) >= config_.top_k;
  if (full && c.quality.total <= t->crops.back().quality.total) return;
  if (full) t->crops.pop_back();
  const float total = c.quality.total;
  auto pos = std::upper_bound(t->crops.begin(), t->crops.end(), total,
                              [](float v, const BestShotCrop& e) { return v > e.quality.total; });
  t->crops.insert(pos, std::move(c));
  t->dirty = true;
}

void BestShotSelector::settle(Track* t, const CropSignature* next, const CropPixels* next_pixels) {
  if (!t->held) return;
  t->held = false;
  // The two references: preferably the observations on either side, at a track's end the two
  // before it.
  // With one reference, motion and damage look alike to the signature, which then passes it.
  const CropSignature* refs[3] = {&t->last, next, &t->before_last};
  const CropPixels* ref_pixels[3] = {&t->last_pixels, next_pixels, &t->before_last_pixels};
  const CropSignature* a = nullptr;
  const CropSignature* b = nullptr;
  const CropPixels* pa = nullptr;
  const CropPixels* pb = nullptr;
  for (int i = 0; i < 3; ++i) {
    const CropSignature* r = refs[i];
    if (r == nullptr || !r->valid()) continue;
    (a == nullptr ? a : b) = r;
    if (ref_pixels[i] != nullptr && ref_pixels[i]->valid())
      (pa == nullptr ? pa : pb) = ref_pixels[i];
    if (b != nullptr) break;
  }
  const float change = config_.max_transient > 0 && b != nullptr
                           ? transient_change(t->held_signature, *a, b) / config_.max_transient
                           : 0.0f;
  // The pixel check is the costlier one, and only matters for an observation that could enter
  // the top K (or become the track's fallback). Unlike the signature it also runs with one
  // reference (a track that ends one observation after its first), searching a window that
  // grows with the box: with nothing to tell motion from damage, a fingerprint counts only when
  // its colour is nowhere near its place, as a corrupt block's or a fill's is.
  int novel = 0, streaks = 0, blocks = 0;
  const int motion_radius =
      std::max(CropPixels::kNoveltyRadius,
               std::min(t->held_pixels.box.width(), t->held_pixels.box.height()) / kMotionShare);
  const int radius = pb != nullptr ? CropPixels::kNoveltyRadius : motion_radius;
  if (config_.max_transient > 0 && t->held_has_crop && pa != nullptr) {
    novel = novel_structure(t->held_pixels, *pa, pb, kNoveltyThreshold, radius);
    streaks = novel_streaks(t->held_pixels, *pa, pb, radius);
    blocks = novel_blocks(t->held_pixels, *pa, pb);
  }
  // A featureless box (one colour) where a neighbour shows detail is a fill. It is checked on
  // every observation, so that two filled observations in a row cannot vouch for each other.
  const bool fill = config_.max_transient > 0 && pa != nullptr &&
                    luma_range(t->held_pixels, kFeatureless + 1) <= kFeatureless &&
                    (luma_range(*pa, kDetail) >= kDetail ||
                     (pb != nullptr && luma_range(*pb, kDetail) >= kDetail));
  const bool transient =
      change > 1 || novel >= kNovelPixels || streaks >= kNovelStreaks || blocks > 0 || fill;
  const float excess =
      std::max({change, static_cast<float>(novel) / kNovelPixels,
                static_cast<float>(streaks) / kNovelStreaks, static_cast<float>(blocks)});
  BestShotCrop crop = std::move(t->held_crop);
  t->held_crop = BestShotCrop{};
  const bool had_crop = t->held_has_crop;
  t->held_has_crop = false;
  if (transient) {
    ++transients_;
    // The fallback stands in for a clean track's motion, which the signature and the tight
    // pixel window take for damage; a fingerprint whose colour is new even to the wide window
    // is damage whatever the motion, and such a crop is no fallback. Nor is one with a broken
    // grid block: the grid stays where it is when the object moves.
    int wide = novel, wide_streaks = streaks;
    if (had_crop && novel >= kNovelPixels && pb != nullptr)
      wide = novel_structure(t->held_pixels, *pa, pb, kNoveltyThreshold, motion_radius);
    if (had_crop && streaks >= kNovelStreaks && pb != nullptr)
      wide_streaks = novel_streaks(t->held_pixels, *pa, pb, motion_radius);
    if (had_crop && crop.quality.damage <= 0 && !fill && blocks == 0 && wide < kNovelPixels &&
        wide_streaks < kNovelStreaks && (!t->has_fallback || excess < t->fallback_excess)) {
      t->fallback = std::move(crop);
      t->fallback_excess = excess;
      t->has_fallback = true;
    }
    return;  // neither a crop nor a reference for the next observations
  }
  t->before_last = t->last;
  t->last = t->held_signature;
  std::swap(t->before_last_pixels, t->last_pixels);
  std::swap(t->last_pixels, t->held_pixels);
  if (had_crop) keep(t, std::move(crop));
}

Status BestShotSelector::update(const ImageView& frame, const std::vector<TrackedObject>& objects,
                                int64_t ts) {
  return update(&frame, objects, ts);
}

Status BestShotSelector::update(const ImageView* frame_or_null,
                                const std::vector<TrackedObject>& objects, int64_t ts) {
  if (frame_or_null) {
    VAS_RETURN_IF_ERROR(frame_or_null->validate().with_context("best-shot frame"));
  }
  records_.clear();  // gives their crops' blocks back to the pool
  const int64_t now = frame_++;
  for (const TrackedObject& o : objects) {
    if (!config_.classes.empty() && std::find(config_.classes.begin(), config_.classes.end(),
                                              o.class_id) == config_.classes.end())
      continue;
    if (o.state == TrackState::kRemoved) {
      auto it = tracks_.find(o.track_id);
      if (it != tracks_.end()) {
        settle(&it->second, nullptr, nullptr);
        VAS_RETURN_IF_ERROR(emit(it->first, &it->second, BestShotReason::kTrackEnded, ts, true));
        tracks_.erase(it);
      }
      continue;
    }
    // A tentative track may be flicker that never becomes a track: no crops, and so no best
    // shot when it dies, but its observations are references for the temporal check.
    const bool tentative = o.state == TrackState::kTentative;
    if (tentative && tracks_.find(o.track_id) == tracks_.end() &&
        (o.time_since_update != 0 || !frame_or_null || frame_or_null->damaged))
      continue;
    Track& t = tracks_[o.track_id];
    if (!tentative && !t.seen) {
      t.seen = true;
      t.first_seen_us = ts;
      t.last_emit_us = ts;
    }
    t.class_id = o.class_id;
    t.last_seen_us = ts;
    t.last_frame = now;
    if (o.time_since_update != 0) continue;  // predicted box: nothing was observed
    if (!frame_or_null) continue;            // no pixels to crop from
    // The decoder flagged the frame or it follows a decode error: its pixels may be concealment
    // that no score can tell from detail, so it is never a best shot.
    if (frame_or_null->damaged) continue;
    const ImageView& frame = *frame_or_null;
    // Score on the box itself; the kept crop adds the margin around it.
    const Rect box = crop_rect(o, frame.width, frame.height, 0.0f);
    if (box.width() < 1 || box.height() < 1) continue;
    extract_luma(frame, box, &gray_);
    if (t.grid_nx == 0) {
      signature_grid(box.width(), box.height(), config_.signature_cell, &t.grid_nx, &t.grid_ny);
    }
    CropSignature sig;
    pixels_.box = Rect{};
    if (config_.max_transient > 0) {
      crop_signature(gray_.data(), box.width(), box.height(), t.grid_nx, t.grid_ny, &sig);
      // With the crop's margin: a kept crop shows it, so damage there must be seen too.
      const Rect crop = crop_rect(o, frame.width, frame.height, config_.margin);
      capture_pixels(frame, box, &pixels_, &crop);
    }
    settle(&t, &sig, &pixels_);  // this observation is the next one for the held observation
    t.held = true;
    t.held_signature = sig;
    std::swap(t.held_pixels, pixels_);
    if (tentative) continue;
    QualityTerms q = score_observation(o, frame.width, frame.height, gray_, box, config_.quality);
    judge_noise(&t, &q);
    if (q.total < config_.min_quality || q.structural > 0) continue;
    const bool full = static_cast<int>(t.crops.size()) >= config_.top_k;
    if (full && q.total <= t.crops.back().quality.total) continue;
    const Rect r = crop_rect(o, frame.width, frame.height, config_.margin);
    Result<PooledImage> img =
        PooledImage::allocate(*pool_, PixelFormat::kBGR24, r.width(), r.height(), 16);
    if (!img.is_ok()) {
      if (img.status().code() != StatusCode::kPoolExhausted)
        return img.status().with_context("best shot of track " + std::to_string(o.track_id));
      ++dropped_;
      continue;
    }
    BestShotCrop& c = t.held_crop;
    c.image = std::move(img).value();
    c.shot_id = next_shot_id_++;
    c.timestamp_us = ts;
    c.frame_index = now;
    c.x1 = o.x1, c.y1 = o.y1, c.x2 = o.x2, c.y2 = o.y2;
    c.crop_x = r.x0;
    c.crop_y = r.y0;
    c.quality = q;
    copy_crop_bgr(frame, r, c.image.plane(0), c.image.view.strides[0]);
    t.held_has_crop = true;
    // Without the temporal check there is nothing to wait for.
    if (config_.max_transient <= 0) settle(&t, nullptr, nullptr);
  }
  for (auto it = tracks_.begin(); it != tracks_.end();) {
    Track& t = it->second;
    if (now - t.last_frame > config_.max_missing) {
      settle(&t, nullptr, nullptr);
      VAS_RETURN_IF_ERROR(emit(it->first, &t, BestShotReason::kTrackEnded, ts, true));
      it = tracks_.erase(it);
      continue;
    }
    if (config_.interval_us > 0 && t.dirty && ts - t.last_emit_us >= config_.interval_us) {
      VAS_RETURN_IF_ERROR(emit(it->first, &t, BestShotReason::kInterval, ts, false));
      t.last_emit_us = ts;
      t.dirty = false;
    }
    ++it;
  }
  return Status::ok();
}

Status BestShotSelector::flush(int64_t ts) {
  records_.clear();
  for (auto& [id, t] : tracks_) {
    settle(&t, nullptr, nullptr);
    VAS_RETURN_IF_ERROR(emit(id, &t, BestShotReason::kFlush, ts, true));
  }
  tracks_.clear();
  return Status::ok();
}

bool BestShotSelector::current_best(int64_t track_id, int64_t* shot_id, float* quality) const {
  auto it = tracks_.find(track_id);
  if (it == tracks_.end()) return false;
  for (const BestShotCrop& c : it->second.crops) {
    if (c.quality.damage > 0) continue;  // never emitted, so never referred to
    if (shot_id) *shot_id = c.shot_id;
    if (quality) *quality = c.quality.total;
    return true;
  }
  return false;
}

std::function<int64_t(int64_t)> best_shot_lookup(const BestShotSelector* selector) {
  if (!selector) return nullptr;
  return [selector](int64_t track_id) {
    int64_t id = -1;
    return selector->current_best(track_id, &id, nullptr) ? id : int64_t{-1};
  };
}

}  // namespace vas
