// Best-frame selection: keeps the top-K crops of every track, scored by select/quality.h, and
// emits best-shot records when a track ends, at a configurable interval while it lives, and at
// end of stream (flush), so the last tracks of a stream are never lost.
//
// Damage is never a best shot. A crop with damage that quality.h detects is never emitted (nor
// returned by current_best), even as a track's only crop. Localised damage on one frame (specks,
// bright blocks, smears) adds edges that score as sharpness and is invisible to a score of that
// frame alone, so each observation is also held until the track's next observation arrives, and is
// dropped when it stands apart from both that one and the one before (transient_change,
// max_transient), or when it has damage-like structure (flat blocks, repeated rows, impulses)
// whose colours neither of them has near the same place (novel_structure, kNovelPixels), or
// textured streaks where neither has a repeated pixel near the same place (novel_streaks:
// concealment in the scene's own colours), or when two sides of a 16x16 block of the codec's
// grid break where neither has a step (novel_blocks: a block pasted from the wrong place by a
// corrupt motion vector), or when its box is featureless while a
// neighbour's shows detail (a fill; two filled observations in a row do not vouch for each
// other). Crops therefore reach current_best() and interval records one observation late; when a
// track ends, its held observation is judged against the two before it; with only one, by the
// pixel checks alone over a window that allows for motion (kMotionShare); with none, it is kept.
//
// Crops are BGR24 copies in blocks of the selector's own memory pool (core/pool.h, unlocked:
// one instance per channel), bounded by pool_mb; evicted and emitted crops return their blocks
// to it, so steady state allocates nothing new. When the pool is full a new crop is dropped
// (counted in dropped_crops()) rather than failing the frame.
//
// Thread safety: one instance per channel, one call at a time; no threads of its own.
// Ownership: records() and the crops and JPEG bytes in them belong to the selector and stay
// valid until the next update() or flush().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/detection.h"
#include "core/image.h"
#include "core/pool.h"
#include "core/status.h"
#include "select/jpeg.h"
#include "select/quality.h"

namespace vas {

struct BestShotConfig {
  int top_k = 1;             // crops kept per track
  int64_t interval_us = 0;   // > 0: also emit a live track's shots this often (when improved)
  float margin = 0.15f;      // the crop grows by this share of the box on every side
  bool jpeg = false;         // JPEG-encode the crops of emitted records
  int jpeg_quality = 90;     // 1..100
  int max_missing = 30;      // updates a track may be absent before it counts as ended
  float min_quality = 0.0f;  // observations below this total are never kept
  std::vector<int> classes;  // class ids to keep shots for; empty = all
  // An observation whose crop stands apart from the track's neighbouring observations by more
  // than this (transient_change) is taken for damage and never kept; 0 turns the check off.
  float max_transient = 1.0f;
  float signature_cell = 24.0f;          // pixels per cell side of the signature grid
  size_t pool_bytes = size_t{64} << 20;  // bound on the memory of all kept crops
  QualityParams quality;
};

// Parses the JSON options: top_k, interval_s, margin, jpeg, jpeg_quality, max_missing,
// min_quality, classes, max_transient, signature_cell, pool_mb, size_ref, sharpness_ref,
// edge_margin, aspect, weights {detector, size, sharpness, truncation, aspect, frontal}. Unknown
// fields and bad values are errors naming the field. An empty string gives the defaults.
Result<BestShotConfig> parse_best_shot_config(const std::string& json);

enum class BestShotReason : int { kTrackEnded = 0, kInterval = 1, kFlush = 2 };

struct BestShotCrop {
  int64_t shot_id = -1;  // unique within the selector; events refer to shots by this id
  int64_t timestamp_us = 0;
  int64_t frame_index = 0;               // count of update() calls before this frame
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // the object's box in the frame
  int crop_x = 0, crop_y = 0;            // top-left of the crop in the frame
  QualityTerms quality;
  PooledImage image;          // BGR24 copy of the crop (box plus margin, clipped); rows padded
  std::vector<uint8_t> jpeg;  // empty unless JPEG was requested
};

struct BestShotRecord {
  int64_t track_id = -1;
  int class_id = 0;
  BestShotReason reason = BestShotReason::kTrackEnded;
  int64_t timestamp_us = 0;  // when the record was emitted
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
  std::vector<BestShotCrop> crops;  // best first
};

class BestShotSelector {
 public:
  static Result<std::unique_ptr<BestShotSelector>> create(const BestShotConfig& config);

  // Scores the observed objects on this frame (time_since_update == 0), keeps the best crops,
  // (none from a frame with frame.damaged set: the decoder flagged it or it follows a decode
  // error), and fills records() with the tracks that ended (state kRemoved, or absent for more than
  // max_missing updates) and the interval records that are due.
  Status update(const ImageView& frame, const std::vector<TrackedObject>& objects,
                int64_t timestamp_us);
  // The same where the frame may be null: the tracks' lifecycles advance (ended tracks and
  // due interval records are emitted) but no new crop is taken, as when the pixels are gone.
  Status update(const ImageView* frame, const std::vector<TrackedObject>& objects,
                int64_t timestamp_us);

  // End of stream: records() gets every live track that holds a crop, and all state is
  // cleared.
  Status flush(int64_t timestamp_us);

  const std::vector<BestShotRecord>& records() const { return records_; }

  // The best crop held now for a live track: returns false when there is none.
  bool current_best(int64_t track_id, int64_t* shot_id, float* quality) const;

  // Encodes a crop (for JPEG on request when config.jpeg is off).
  Status encode_jpeg(const BestShotCrop& crop, std::vector<uint8_t>* out) {
    return jpeg_.encode(crop.image.view, config_.jpeg_quality, out);
  }

  // Crops not kept because the pool was full, since creation.
  uint64_t dropped_crops() const { return dropped_; }
  // Observations dropped as transient damage (max_transient), since creation.
  uint64_t transient_rejects() const { return transients_; }
  PoolStats pool_stats() const { return pool_->stats(); }

  size_t live_tracks() const { return tracks_.size(); }
  const BestShotConfig& config() const { return config_; }

 private:
  explicit BestShotSelector(const BestShotConfig& config) : config_(config) {}

  struct Track {
    int class_id = 0;
    int64_t first_seen_us = 0, last_seen_us = 0, last_emit_us = 0;
    int64_t last_frame = 0;
    bool seen = false;
    bool dirty = false;  // a crop changed since the last interval record
    std::vector<BestShotCrop> crops;
    std::vector<double> noise;  // noise sigma of the latest observations (ring of kNoiseHistory)
    size_t noise_next = 0;
    // The temporal check: the grid fixed at the first box (tentative ones included, so that a
    // track's first confirmed observation has a reference), the signatures of the latest two
    // observations judged clean, and the latest observation, held until the next one arrives
    // (with its crop when that could enter the top K).
    int grid_nx = 0, grid_ny = 0;
    CropSignature last, before_last;
    CropPixels last_pixels, before_last_pixels;  // the same observations' pixels
    bool held = false, held_has_crop = false;
    CropSignature held_signature;
    CropPixels held_pixels;
    BestShotCrop held_crop;
    // The candidate crop the temporal check dropped by the least (its excess over the limits):
    // the track's best shot when it ends with no other, so that motion on a short track, which
    // looks like damage to the check, does not leave a clean track without a best shot.
    bool has_fallback = false;
    float fallback_excess = 0;
    BestShotCrop fallback;
  };

  Status emit(int64_t track_id, Track* track, BestShotReason reason, int64_t ts, bool move);
  // Judges the held observation against the latest clean one and `next` (or, without `next`,
  // the one before): kept as a crop and as history when consistent, dropped otherwise.
  void settle(Track* track, const CropSignature* next, const CropPixels* next_pixels);
  void keep(Track* track, BestShotCrop&& crop);
  // Records the observation's noise in the track's history, then judges it and the crops the
  // track keeps against the history's median: noise far above it counts as damage (scaling
  // the total), so a noisy first observation loses its place once clean ones arrive.
  static void judge_noise(Track* track, QualityTerms* q);
  static constexpr size_t kNoiseHistory = 31;
  // novel_structure: a colour is new when no pixel nearby in the references is within this of
  // it in every channel, and an observation with this many new structured pixels is damage.
  static constexpr int kNoveltyThreshold = 45;
  static constexpr int kNovelPixels = 3;
  // novel_streaks: an observation with this many new streak pixels is damage.
  static constexpr int kNovelStreaks = 8;
  // A box whose luma spans at most kFeatureless levels, where a neighbour's spans kDetail or
  // more, is a fill.
  static constexpr int kFeatureless = 2;
  static constexpr int kDetail = 16;
  // The window searched where motion cannot be told from damage (one reference, or the
  // fallback): this share of the box's smaller side, at least kNoveltyRadius.
  static constexpr int kMotionShare = 4;

  BestShotConfig config_;
  std::unique_ptr<Pool> pool_;       // declared first: destroyed after every crop it backs
  std::map<int64_t, Track> tracks_;  // ordered, so records come out in track-id order
  std::vector<BestShotRecord> records_;
  std::vector<uint8_t> gray_;
  CropPixels pixels_;  // the observation's pixels; swapped with a track's, so buffers recycle
  JpegEncoder jpeg_;
  int64_t frame_ = 0;
  int64_t next_shot_id_ = 0;
  uint64_t dropped_ = 0;
  uint64_t transients_ = 0;
};

// The link from business rules to best shots: a function giving the id of the best shot the
// selector holds now for a track, or -1 (RulesEngine::BestShotLookup). Null for a null
// selector. The function borrows the selector, which must outlive it.
std::function<int64_t(int64_t track_id)> best_shot_lookup(const BestShotSelector* selector);

}  // namespace vas
