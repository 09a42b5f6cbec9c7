// Per-observation quality for best-frame selection: detector score, box size, sharpness
// (variance of the Laplacian on the crop), truncation at the frame edges, aspect ratio and, for
// faces, frontalness from the 5 landmarks. Each term is in [0, 1]; the total is their weighted
// mean, scaled down by the crop's damage (decoder noise, overlay lines and bars, torn rows,
// block artefacts, smeared rows), which raises the Laplacian's variance without being detail.
// Stateless free functions; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/detection.h"
#include "core/image.h"
#include "core/status.h"

namespace vas {

struct QualityWeights {
  float detector = 1.0f;
  float size = 1.0f;
  float sharpness = 1.0f;
  float truncation = 1.0f;
  float aspect = 0.5f;
  float frontal = 1.0f;  // used only for objects with 5 landmarks
};

struct QualityParams {
  QualityWeights weights;
  float size_ref = 112.0f;       // sqrt(box area) in pixels at which the size term saturates
  float sharpness_ref = 100.0f;  // Laplacian variance that scores 0.5
  float edge_margin = 2.0f;      // a box side within this many pixels of the frame edge is cut
  float aspect = 0.0f;           // expected width / height; 0 turns the aspect term off
};

struct QualityTerms {
  float detector = 0, size = 0, sharpness = 0, truncation = 0, aspect = 0, frontal = 0;
  double laplacian_variance = 0;
  float damage = 0;        // 0 for a clean crop, up to 1; the total is scaled by 1 - damage
  float structural = 0;    // the part of damage crop_damage() found (the rest is noise)
  double noise_sigma = 0;  // the crop's noise estimate, judged against the track's history
  float undamaged = 0;     // the weighted mean of the terms
  float total = 0;
};

// Integer pixel rectangle [x0, x1) x [y0, y1).
struct Rect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

// The box clipped to the image, grown by `margin` times its size on every side first.
// Empty (width or height 0) when the box lies outside the image.
Rect crop_rect(const TrackedObject& obj, int image_width, int image_height, float margin);

// Luma of rect (BT.601 weights for RGB/BGR; the Y plane for YUV and GRAY8) into `gray`
// (resized, row-major, width x height). The rect must lie inside the image.
void extract_luma(const ImageView& image, const Rect& rect, std::vector<uint8_t>* gray);

// Variance of the 4-neighbour Laplacian [0 1 0; 1 -4 1; 0 1 0] over the interior pixels of a
// width x height gray buffer (the 1-pixel border is skipped). 0 for buffers under 3x3.
double laplacian_variance(const uint8_t* gray, int width, int height, int stride);

// Signs of damage in a width x height gray crop whose top-left pixel is (x0, y0) in the frame
// (codec blocks are aligned to the frame): overlay lines and bars, torn bands, block artefacts
// and smeared rows. 0 when none is found, up to 1. Clean crops score 0, so the ranking of
// undamaged observations does not change.
float crop_damage(const uint8_t* gray, int width, int height, int x0, int y0);

// Immerkaer's estimate of the sigma of additive white noise in a gray crop.
double noise_sigma(const uint8_t* gray, int width, int height);

// Noise is damage only against the same object's other observations: a fine texture is noisy
// on every frame, a damaged frame is far noisier than its track's typical (median) sigma.
// 0 without a history (typical <= 0).
float noise_damage(double sigma, double typical);

// A coarse summary of one observation's box, for judging it against the same track's other
// observations: per cell of a grid (fixed for the track, so cells line up between its boxes),
// the mean luma, the mean squared Laplacian and the impulses (pixels standing out of their
// 5x5 ring: specks). Localised damage on one frame changes a few cells far more than the
// track's motion changes them between neighbouring observations.
struct CropSignature {
  static constexpr int kMaxGrid = 8;
  static constexpr int kCells = kMaxGrid * kMaxGrid;
  int nx = 0, ny = 0;  // 0: no signature
  std::array<float, kCells> mean{}, energy{}, impulses{};
  bool valid() const { return nx > 0 && ny > 0; }
};

// The grid for a track whose first box is width x height: cells of about `cell` pixels,
// 1..kMaxGrid per axis.
void signature_grid(int width, int height, float cell, int* nx, int* ny);

// The signature of a width x height gray crop on an nx x ny grid. Crops under 5x5 get none.
void crop_signature(const uint8_t* gray, int width, int height, int nx, int ny, CropSignature* out);

// How far `cur` stands apart from two other observations of its track, beyond how far those
// two stand apart from each other (which is what motion alone explains): the largest such
// excess over the cells, in units where 1 is an e-fold change of a cell's Laplacian energy,
// 12 levels of its mean luma or 2 impulses. With `b` null (only one other observation), the
// plain difference from `a`. 0 when the grids differ or a signature is missing.
float transient_change(const CropSignature& cur, const CropSignature& a, const CropSignature* b);

// The BGR pixels of one observation, kept for the temporal checks: the crop that would be kept
// (the box and its margin; the box alone when no crop is given) grown by kNoveltyRadius on
// every side and clipped to the frame, packed rows.
struct CropPixels {
  static constexpr int kNoveltyRadius = 2;
  Rect box;   // the box in the frame
  Rect crop;  // the kept crop in the frame (contains the box)
  Rect rect;  // the stored area
  std::vector<uint8_t> bgr;
  bool valid() const { return box.width() > 0 && box.height() > 0; }
  // The box grown by kNoveltyRadius, within the stored area: what the box checks read.
  Rect near_box() const;
};

// Copies the pixels of `crop` (the box when null; inside the image, containing `box`) and its
// surroundings into `out`.
void capture_pixels(const ImageView& image, const Rect& box, CropPixels* out,
                    const Rect* crop = nullptr);

// Localised damage the coarse signature misses on small boxes: the pixels of `cur`'s box that
// carry the fingerprints of damage (in a 2x2 block of one exact colour, a vertical run of 4
// exactly repeated pixels, or an impulse standing 40 levels out of its 5x5 ring; read with the
// stored surroundings, so pixels at the box's edge count too) and whose colour is found in none
// of the other observations near the same place of their box (every channel within `threshold`
// somewhere in a window of `radius` pixels around it). Flat blocks and repeated rows are common
// in decoded video, but they move with the scene; a block the neighbouring observations do not
// have is new. 0 without a valid `a`.
int novel_structure(const CropPixels& cur, const CropPixels& a, const CropPixels* b, int threshold,
                    int radius = CropPixels::kNoveltyRadius);

// Concealment streaks the colour test of novel_structure misses: the pixels of `cur`'s crop in a
// streak (a row segment of at least 8 pixels, its luma spanning 16 levels or more, repeated
// exactly in the 3 rows below or above) where neither other observation has a vertical run of
// 4 repeated pixels within `radius` of the same place of its box (in the crop's margin, also of
// the same place in the frame: the margin holds background that does not move with the box).
// A decoder that repeats rows downwards (a lost slice, a corrupt block) leaves textured
// columns that do not change; the colours are the scene's own, but real textures vary down the
// rows, while a repeat of the scene (a flat area, a static vertical edge) shows in the
// neighbouring observations too. The margin is read because a kept crop shows it: a smear
// across the rows above a box is as visible as one inside it. 0 without a valid `a`.
int novel_streaks(const CropPixels& cur, const CropPixels& a, const CropPixels* b,
                  int radius = CropPixels::kNoveltyRadius);

// The luma range (max - min) over a box's pixels: 0 to 2 for a featureless box, as a decoder's
// fill of one colour leaves it. -1 without pixels. The scan ends after the row where the range
// reaches `stop`, so that a box with detail costs a few rows.
int luma_range(const CropPixels& px, int stop = 256);

// 1 for a face looking at the camera, falling towards 0 as it turns (nose off the eyes'
// midline) or rolls (tilted eye line). Landmarks: left eye, right eye, nose, mouth corners.
float face_frontalness(const float landmarks[10]);

// Scores one observation. `gray` is the luma of `rect` (from extract_luma); `rect` is the
// unexpanded box clipped to the image.
QualityTerms score_observation(const TrackedObject& obj, int image_width, int image_height,
                               const std::vector<uint8_t>& gray, const Rect& rect,
                               const QualityParams& params);

}  // namespace vas
