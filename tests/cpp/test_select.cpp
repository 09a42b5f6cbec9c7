// Best-frame selection: the Laplacian kernel against a scalar reference, frontalness, crafted
// sequences where a sharp, large, frontal frame must beat blurred, small and truncated ones,
// emission on track end / interval / flush, crop conversion and JPEG output.
#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <cmath>
#include <cstring>
#include <random>

#include "select/best_shot.h"
#include "select/jpeg.h"
#include "select/quality.h"

namespace vas {
namespace {

// Straightforward two-pass reference for the kernel.
double reference_laplacian_variance(const std::vector<uint8_t>& g, int w, int h) {
  std::vector<double> v;
  for (int y = 1; y < h - 1; ++y)
    for (int x = 1; x < w - 1; ++x)
      v.push_back(g[(y - 1) * w + x] + g[(y + 1) * w + x] + g[y * w + x - 1] + g[y * w + x + 1] -
                  4.0 * g[y * w + x]);
  double mean = 0;
  for (double d : v) mean += d;
  mean /= v.size();
  double var = 0;
  for (double d : v) var += (d - mean) * (d - mean);
  return var / v.size();
}

TEST(Quality, LaplacianVarianceMatchesReference) {
  std::vector<uint8_t> dot(25, 0);
  dot[12] = 255;
  EXPECT_NEAR(laplacian_variance(dot.data(), 5, 5, 5), 144500.0, 1e-6);
  std::vector<uint8_t> flat(64, 77);
  EXPECT_EQ(laplacian_variance(flat.data(), 8, 8, 8), 0.0);
  EXPECT_EQ(laplacian_variance(flat.data(), 2, 8, 2), 0.0);
  std::mt19937 rng(3);
  for (int t = 0; t < 5; ++t) {
    const int w = 3 + t * 7, h = 4 + t * 5;
    std::vector<uint8_t> g(w * h);
    for (auto& p : g) p = static_cast<uint8_t>(rng());
    EXPECT_NEAR(laplacian_variance(g.data(), w, h, w), reference_laplacian_variance(g, w, h),
                1e-6 * reference_laplacian_variance(g, w, h));
  }
}

float* face_landmarks(TrackedObject* o, float nose_dx, float roll_dy) {
  o->num_landmarks = 5;
  const float cx = 0.5f * (o->x1 + o->x2), cy = 0.5f * (o->y1 + o->y2), s = o->x2 - o->x1;
  const float lm[10] = {cx - 0.2f * s,    cy - 0.1f * s - roll_dy,
                        cx + 0.2f * s,    cy - 0.1f * s + roll_dy,
                        cx + nose_dx * s, cy + 0.05f * s,
                        cx - 0.15f * s,   cy + 0.2f * s,
                        cx + 0.15f * s,   cy + 0.2f * s};
  std::copy(lm, lm + 10, o->landmarks);
  return o->landmarks;
}

TEST(Quality, CropRectClampsBoxesOutsideTheIntRange) {
  // Found by fuzz_capi_sequence: the box was converted to int before clamping, undefined for
  // coordinates beyond int (x86 gave INT_MIN, so a box covering the frame cropped nothing).
  TrackedObject o;
  o.x1 = -1e10f, o.y1 = -1e10f, o.x2 = 1e10f, o.y2 = 1e10f;
  Rect r = crop_rect(o, 320, 240, 0.15f);
  EXPECT_EQ(r.x0, 0);
  EXPECT_EQ(r.y0, 0);
  EXPECT_EQ(r.x1, 320);
  EXPECT_EQ(r.y1, 240);
  o.x1 = 3e9f, o.x2 = 3e9f + 50;  // right of the frame: empty
  r = crop_rect(o, 320, 240, 0.15f);
  EXPECT_EQ(r.width(), 0);
  o.x1 = NAN;
  r = crop_rect(o, 320, 240, 0.15f);
  EXPECT_GE(r.x0, 0);
  EXPECT_LE(r.x1, 320);
}

TEST(Quality, FrontalnessFallsAsTheFaceTurnsOrRolls) {
  TrackedObject o;
  o.x1 = 0, o.y1 = 0, o.x2 = 100, o.y2 = 100;
  const float frontal = face_frontalness(face_landmarks(&o, 0, 0));
  const float turned = face_frontalness(face_landmarks(&o, 0.15f, 0));
  const float profile = face_frontalness(face_landmarks(&o, 0.3f, 0));
  const float rolled = face_frontalness(face_landmarks(&o, 0, 5));
  EXPECT_NEAR(frontal, 1.0f, 1e-6);
  EXPECT_LT(turned, 0.5f);
  EXPECT_EQ(profile, 0.0f);
  EXPECT_LT(rolled, 0.9f);
  EXPECT_GT(rolled, turned);
}

// A noisy BGR scene (fixed seed) so crops have real texture; blur() smooths a region.
struct Scene {
  Image img;
  Scene(int w, int h) {
    img.width = w;
    img.height = h;
    img.data.resize(static_cast<size_t>(w) * h * 3);
    std::mt19937 rng(11);
    for (auto& p : img.data) p = static_cast<uint8_t>(rng() % 256);
  }
  void blur(int x0, int y0, int x1, int y1, int passes) {
    const int w = img.width;
    for (int p = 0; p < passes; ++p) {
      std::vector<uint8_t> src = img.data;
      for (int y = y0 + 1; y < y1 - 1; ++y)
        for (int x = x0 + 1; x < x1 - 1; ++x)
          for (int c = 0; c < 3; ++c) {
            int s = 0;
            for (int dy = -1; dy <= 1; ++dy)
              for (int dx = -1; dx <= 1; ++dx) s += src[((y + dy) * w + x + dx) * 3 + c];
            img.data[(y * w + x) * 3 + c] = static_cast<uint8_t>(s / 9);
          }
    }
  }
  // Rows y0..y1-1 over columns x..x+w-1 become copies of row `src` (a concealment streak).
  void streak(int src, int y0, int y1, int x, int w) {
    const auto at = [&](int row) { return (static_cast<size_t>(row) * img.width + x) * 3; };
    for (int y = y0; y < y1; ++y) std::memmove(&img.data[at(y)], &img.data[at(src)], w * 3);
  }
};

TrackedObject face(int64_t id, float x1, float y1, float x2, float y2, float nose_dx = 0) {
  TrackedObject o;
  o.track_id = id;
  o.class_id = 1;
  o.score = 0.9f;
  o.x1 = x1, o.y1 = y1, o.x2 = x2, o.y2 = y2;
  o.state = TrackState::kConfirmed;
  face_landmarks(&o, nose_dx, 0);
  return o;
}

TEST(BestShot, SharpLargeFrontalFrameWins) {
  BestShotConfig cfg;
  cfg.top_k = 2;
  auto sel = BestShotSelector::create(cfg);
  ASSERT_TRUE(sel.is_ok());
  BestShotSelector& s = *sel.value();
  // Frame 0: large, frontal, but blurred. Frame 1: sharp, frontal, cut by the left edge.
  // Frame 2: sharp, frontal, small. Frame 3: sharp, large, turned away.
  // Frame 4: sharp, large, frontal -> the best. Frame 5: the same box blurred again.
  Scene sharp(320, 240), blurred(320, 240);
  blurred.blur(100, 60, 200, 160, 4);
  const std::vector<std::pair<const Scene*, TrackedObject>> seq = {
      {&blurred, face(7, 100, 60, 200, 160)}, {&sharp, face(7, 0, 60, 60, 160)},
      {&sharp, face(7, 130, 90, 160, 120)},   {&sharp, face(7, 100, 60, 200, 160, 0.25f)},
      {&sharp, face(7, 100, 60, 200, 160)},   {&blurred, face(7, 100, 60, 200, 160)}};
  int64_t ts = 0;
  std::vector<float> totals;
  for (const auto& [scene, obj] : seq) {
    ASSERT_TRUE(s.update(scene->img.view(), {obj}, ts).is_ok());
    EXPECT_TRUE(s.records().empty());
    ts += 40000;
  }
  int64_t shot = -1;
  float q = 0;
  ASSERT_TRUE(s.current_best(7, &shot, &q));
  TrackedObject gone = seq.back().second;
  gone.state = TrackState::kRemoved;
  ASSERT_TRUE(s.update(sharp.img.view(), {gone}, ts).is_ok());
  ASSERT_EQ(s.records().size(), 1u);
  const BestShotRecord& r = s.records()[0];
  EXPECT_EQ(r.track_id, 7);
  EXPECT_EQ(r.reason, BestShotReason::kTrackEnded);
  EXPECT_EQ(r.first_seen_us, 0);
  ASSERT_EQ(r.crops.size(), 2u);
  EXPECT_EQ(r.crops[0].frame_index, 4) << "quality " << r.crops[0].quality.total;
  EXPECT_EQ(r.crops[0].shot_id, shot);
  EXPECT_FLOAT_EQ(r.crops[0].quality.total, q);
  EXPECT_GT(r.crops[0].quality.total, r.crops[1].quality.total);
  EXPECT_GT(r.crops[0].quality.sharpness, 0.9f);
  // The crop is the box plus a 15% margin, copied from the frame.
  const BestShotCrop& c = r.crops[0];
  EXPECT_EQ(c.image.view.width, 130);
  EXPECT_EQ(c.image.view.height, 130);
  EXPECT_EQ(c.crop_x, 85);
  for (int y = 0; y < 130; y += 43) {
    EXPECT_EQ(0, std::memcmp(c.image.view.planes[0] + y * c.image.view.strides[0],
                             &sharp.img.data[((c.crop_y + y) * 320 + c.crop_x) * 3], 130 * 3));
  }
  // Only the two kept crops hold pool blocks.
  EXPECT_EQ(s.pool_stats().in_use_buffers, 2u);
  EXPECT_FALSE(s.current_best(7, nullptr, nullptr));
  EXPECT_EQ(s.live_tracks(), 0u);
}

// A frame the decoder flagged (or one after a decode error) is never a best shot, however well
// it scores: its pixels may be concealment. The track lives on through it.
TEST(BestShot, DecoderFlaggedFramesAreNeverBestShots) {
  BestShotConfig cfg;
  cfg.top_k = 4;
  auto sel = BestShotSelector::create(cfg);
  ASSERT_TRUE(sel.is_ok());
  BestShotSelector& s = *sel.value();
  Scene sharp(320, 240), blurred(320, 240);
  blurred.blur(100, 60, 200, 160, 4);
  ImageView flagged = sharp.img.view();
  flagged.damaged = true;
  ASSERT_TRUE(s.update(blurred.img.view(), {face(3, 100, 60, 200, 160)}, 0).is_ok());
  ASSERT_TRUE(s.update(flagged, {face(3, 100, 60, 200, 160)}, 40000).is_ok());
  TrackedObject gone = face(3, 100, 60, 200, 160);
  gone.state = TrackState::kRemoved;
  ASSERT_TRUE(s.update(flagged, {gone}, 80000).is_ok());
  ASSERT_EQ(s.records().size(), 1u);
  ASSERT_EQ(s.records()[0].crops.size(), 1u) << "the flagged frame was kept";
  EXPECT_EQ(s.records()[0].crops[0].frame_index, 0);
  // Without the flag both observations are kept (top_k 4), so the flag is what kept it out.
  // (The plain run repeats the blurred frame: the sharp noise would count as noise damage
  // against a blurred history and be dropped for that.)
  auto plain = BestShotSelector::create(cfg);
  ASSERT_TRUE(plain.is_ok());
  ASSERT_TRUE(plain.value()->update(blurred.img.view(), {face(3, 100, 60, 200, 160)}, 0).is_ok());
  ASSERT_TRUE(
      plain.value()->update(blurred.img.view(), {face(3, 100, 60, 200, 160)}, 40000).is_ok());
  ASSERT_TRUE(plain.value()->update(sharp.img.view(), {gone}, 80000).is_ok());
  ASSERT_EQ(plain.value()->records().size(), 1u);
  EXPECT_EQ(plain.value()->records()[0].crops.size(), 2u);
}

// Localised damage on one frame of a clean sequence: the frame scores higher than its
// neighbours (the damage adds edges), so only the comparison with the track's neighbouring
// observations keeps it from winning.
enum class Defect { kSpecks, kBrightBlock, kSmear };

Scene damaged_copy(const Scene& clean, Defect d) {
  Scene out = clean;
  std::vector<uint8_t>& px = out.img.data;
  const int w = out.img.width;
  auto set = [&](int x, int y, uint8_t b, uint8_t g, uint8_t r) {
    uint8_t* p = &px[(static_cast<size_t>(y) * w + x) * 3];
    p[0] = b, p[1] = g, p[2] = r;
  };
  if (d == Defect::kSpecks) {  // 5 white specks of 1 or 2 pixels inside the box
    std::mt19937 rng(5);
    for (int i = 0; i < 5; ++i) {
      const int x = 105 + static_cast<int>(rng() % 88), y = 65 + static_cast<int>(rng() % 88);
      const int size = 1 + static_cast<int>(rng() % 2);
      for (int dy = 0; dy < size; ++dy)
        for (int dx = 0; dx < size; ++dx) set(x + dx, y + dy, 255, 255, 255);
    }
  } else if (d == Defect::kBrightBlock) {  // a hard-edged yellow rectangle on the box
    for (int y = 93; y < 107; ++y)
      for (int x = 121; x < 139; ++x) set(x, y, 0, 255, 255);
  } else {  // a macroblock row whose 16x16 blocks come from wrong places
    for (int bx = 96; bx < 208; bx += 16) {
      const int sx = bx + ((bx / 16) % 2 ? 40 : -37), sy = 112 + ((bx / 16) % 3 ? 24 : -29);
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) {
          const uint8_t* p = &clean.img.data[(static_cast<size_t>(sy + y) * w + sx + x) * 3];
          set(bx + x, 112 + y, p[0], p[1], p[2]);
        }
    }
  }
  return out;
}

// The index of the winning observation of a 7-observation track, given its frames.
int64_t winner(const BestShotConfig& cfg, const std::vector<const Scene*>& frames) {
  auto sel = BestShotSelector::create(cfg);
  EXPECT_TRUE(sel.is_ok());
  BestShotSelector& s = *sel.value();
  int64_t ts = 0;
  for (const Scene* sc : frames) {
    EXPECT_TRUE(s.update(sc->img.view(), {face(4, 100, 60, 200, 160)}, ts).is_ok());
    ts += 40000;
  }
  EXPECT_TRUE(s.flush(ts).is_ok());
  if (s.records().size() != 1u || s.records()[0].crops.empty()) return -1;
  return s.records()[0].crops[0].frame_index;
}

TEST(BestShot, LocalisedDamageSharperThanItsNeighboursNeverWins) {
  Scene clean(320, 240);
  clean.blur(0, 0, 320, 240, 2);  // a smooth texture: damage adds edges it does not have
  std::vector<uint8_t> g;
  const TrackedObject obj = face(4, 100, 60, 200, 160);
  const Rect r = crop_rect(obj, 320, 240, 0);
  auto score = [&](const Scene& sc) {
    extract_luma(sc.img.view(), r, &g);
    return score_observation(obj, 320, 240, g, r, QualityParams{});
  };
  const QualityTerms base = score(clean);
  // Not the bright block: on this synthetic texture crop_damage already scores it as damage,
  // so the premise below fails. The smear's copied blocks have the same cell statistics as the
  // texture they replace; their borders on the block grid give them away.
  for (Defect d : {Defect::kSpecks, Defect::kSmear}) {
    SCOPED_TRACE(static_cast<int>(d));
    const Scene bad = damaged_copy(clean, d);
    // The premise: on its own, the damaged frame scores best.
    const QualityTerms q = score(bad);
    ASSERT_GT(q.total, base.total) << "sharpness " << q.sharpness << " vs " << base.sharpness;
    std::vector<const Scene*> frames(7, &clean);
    frames[3] = &bad;
    BestShotConfig cfg;
    EXPECT_NE(winner(cfg, frames), 3);
    cfg.max_transient = 0;  // without the temporal check it wins: the check is what stops it
    EXPECT_EQ(winner(cfg, frames), 3);
  }
}

// A track whose every observation is damaged emits no best shot at all, rather than its
// least damaged one.
TEST(BestShot, ATrackWithOnlyDamagedObservationsEmitsNothing) {
  Scene sc(320, 240);
  sc.blur(0, 0, 320, 240, 2);
  for (int y = 100; y < 102; ++y)  // a saturated overlay line across the box (crop_damage)
    for (int x = 0; x < 320; ++x)
      for (int c = 0; c < 3; ++c) sc.img.data[(static_cast<size_t>(y) * 320 + x) * 3 + c] = 255;
  auto sel = BestShotSelector::create(BestShotConfig{});
  ASSERT_TRUE(sel.is_ok());
  BestShotSelector& s = *sel.value();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.update(sc.img.view(), {face(9, 100, 60, 200, 160)}, i * 40000).is_ok());
    EXPECT_TRUE(s.records().empty());
  }
  EXPECT_FALSE(s.current_best(9, nullptr, nullptr));
  TrackedObject gone = face(9, 100, 60, 200, 160);
  gone.state = TrackState::kRemoved;
  ASSERT_TRUE(s.update(sc.img.view(), {gone}, 120000).is_ok());
  EXPECT_TRUE(s.records().empty()) << "a damaged crop was emitted";
  // The same at end of stream.
  ASSERT_TRUE(s.update(sc.img.view(), {face(10, 100, 60, 200, 160)}, 160000).is_ok());
  ASSERT_TRUE(s.flush(200000).is_ok());
  EXPECT_TRUE(s.records().empty());
}

// The pixel check on its own: a hard-edged block whose colour the neighbouring observations do
// not have near the same place is counted; the clean frame against itself, and the block
// against a neighbour that has it too (a real object), count nothing.
TEST(Quality, NovelStructureCountsOnlyPatchesTheNeighboursLack) {
  Scene clean(320, 240);
  clean.blur(0, 0, 320, 240, 2);
  const Scene bad = damaged_copy(clean, Defect::kBrightBlock);
  const Rect box{100, 60, 200, 160};
  CropPixels c, d;
  capture_pixels(clean.img.view(), box, &c);
  capture_pixels(bad.img.view(), box, &d);
  EXPECT_EQ(novel_structure(c, c, &c, 45), 0);
  EXPECT_GE(novel_structure(d, c, &c, 45), 18 * 14 / 2);
  EXPECT_EQ(novel_structure(d, d, &c, 45), 0) << "one neighbour has the block";
  EXPECT_GE(novel_structure(d, c, nullptr, 45), 18 * 14 / 2);
}

// Fingerprints that small boxes need: a corrupt block of a few pixels (no 3x3 flat core, no
// 4-row run) and specks on the box's edge rows and columns (their 5x5 ring reaches outside the
// box, into the stored surroundings). A wider window finds a colour that only moved.
TEST(Quality, NovelStructureSeesSmallBlocksAndTheBoxEdge) {
  Scene clean(320, 240);
  clean.blur(0, 0, 320, 240, 2);
  const Rect box{100, 60, 200, 160};
  auto set = [](Scene* sc, int x, int y, uint8_t b, uint8_t g, uint8_t r) {
    uint8_t* p = &sc->img.data[(static_cast<size_t>(y) * sc->img.width + x) * 3];
    p[0] = b, p[1] = g, p[2] = r;
  };
  CropPixels c, d;
  capture_pixels(clean.img.view(), box, &c);
  Scene block = clean;  // 3x2 pixels of magenta
  for (int y = 100; y < 102; ++y)
    for (int x = 150; x < 153; ++x) set(&block, x, y, 255, 0, 255);
  capture_pixels(block.img.view(), box, &d);
  EXPECT_EQ(novel_structure(d, c, &c, 45), 6);
  Scene moved = clean;  // the same block 10 pixels to the left: a real object that moved
  for (int y = 100; y < 102; ++y)
    for (int x = 140; x < 143; ++x) set(&moved, x, y, 255, 0, 255);
  CropPixels m;
  capture_pixels(moved.img.view(), box, &m);
  EXPECT_EQ(novel_structure(d, m, nullptr, 45), 6);
  EXPECT_EQ(novel_structure(d, m, nullptr, 45, 12), 0);
  Scene edge = clean;  // single white specks on the box's first and last rows and columns
  for (auto [x, y] : {std::pair{100, 80}, {101, 120}, {199, 90}, {150, 60}, {130, 159}})
    set(&edge, x, y, 255, 255, 255);
  capture_pixels(edge.img.view(), box, &d);
  EXPECT_EQ(novel_structure(d, c, &c, 45), 5);
}

// A row repeated downwards over a textured area (concealment of a lost slice or block) counts
// when neither neighbour has a streak there; a streak both frames share is the scene's own.
TEST(Quality, NovelStreaksCountsOnlyStreaksTheNeighboursLack) {
  Scene clean(320, 240);
  clean.blur(0, 0, 320, 240, 2);
  Scene streaked = clean;
  streaked.streak(99, 100, 116, 140, 32);
  const Rect box{100, 60, 200, 160};
  CropPixels c, d;
  capture_pixels(clean.img.view(), box, &c);
  capture_pixels(streaked.img.view(), box, &d);
  EXPECT_EQ(novel_streaks(c, c, &c), 0);
  EXPECT_GE(novel_streaks(d, c, &c), 16 * 32 / 2);
  EXPECT_EQ(novel_streaks(d, d, &c), 0) << "one neighbour has the streak";
  EXPECT_GE(novel_streaks(d, c, nullptr), 16 * 32 / 2);
  // A flat area repeats too, but without texture along its rows it is no streak.
  Scene flat = clean;
  for (int y = 100; y < 116; ++y)
    std::memset(&flat.img.data[(static_cast<size_t>(y) * 320 + 140) * 3], 90, 32 * 3);
  capture_pixels(flat.img.view(), box, &d);
  EXPECT_EQ(novel_streaks(d, c, &c), 0);
}

// A kept crop shows its margin, so a streak there (above the box, reaching into its first rows)
// counts as much as one inside; a static streak-like edge of the background does not, even
// when the box has moved since the neighbouring observations.
TEST(Quality, NovelStreaksReadsTheCropMargin) {
  Scene clean(320, 240);
  clean.blur(0, 0, 320, 240, 2);
  Scene streaked = clean;
  streaked.streak(40, 41, 62, 120, 40);  // rows 41..61: the box starts at row 60
  const Rect box{100, 60, 200, 160};
  const Rect crop{85, 45, 215, 175};
  CropPixels c, d, boxed;
  capture_pixels(clean.img.view(), box, &c, &crop);
  capture_pixels(streaked.img.view(), box, &d, &crop);
  capture_pixels(streaked.img.view(), box, &boxed);
  EXPECT_EQ(novel_streaks(c, c, &c), 0);
  EXPECT_GE(novel_streaks(d, c, &c), 12 * 40 / 2);
  EXPECT_LT(novel_streaks(boxed, c, &c), 12 * 40 / 2)
      << "without the margin only the box's first rows show it";
  // The background has a repeated edge above the box on every frame; the box moves by 6 px.
  Scene edge = clean;
  edge.streak(47, 48, 56, 90, 30);
  Scene edge_later = edge;
  const Rect moved{106, 60, 206, 160}, moved_crop{91, 45, 221, 175};
  CropPixels e0, e1;
  capture_pixels(edge.img.view(), box, &e0, &crop);
  capture_pixels(edge_later.img.view(), moved, &e1, &moved_crop);
  EXPECT_EQ(novel_streaks(e1, e0, &e0), 0);
}

// On a small box (one signature cell) a streak changes the coarse signature too little, and
// its colours are the scene's own: it must still not win, even with the best detector score.
TEST(BestShot, AStreakedSmallBoxNeverWins) {
  Scene clean(320, 240);
  clean.blur(0, 0, 320, 240, 2);
  Scene streaked = clean;
  streaked.streak(107, 108, 116, 100, 16);
  auto sel = BestShotSelector::create(BestShotConfig{});
  ASSERT_TRUE(sel.is_ok());
  BestShotSelector& s = *sel.value();
  TrackedObject o = face(13, 101, 100, 115, 130);
  o.num_landmarks = 0;
  o.state = TrackState::kTentative;
  ASSERT_TRUE(s.update(clean.img.view(), {o}, 0).is_ok());
  o.state = TrackState::kConfirmed;
  for (int i = 1; i < 4; ++i) {
    o.score = i == 2 ? 0.99f : 0.8f;
    ASSERT_TRUE(s.update((i == 2 ? streaked : clean).img.view(), {o}, i * 40000).is_ok());
  }
  ASSERT_TRUE(s.flush(160000).is_ok());
  ASSERT_EQ(s.records().size(), 1u);
  EXPECT_NE(s.records()[0].crops[0].frame_index, 2) << "the streaked box won";
}

// A stream that fills whole frames with one colour does so for several frames in a row: the
// filled observations must not vouch for each other. A track that is featureless throughout
// (a flat scene) still has a best shot.
TEST(BestShot, FilledObservationsInARowDoNotVouchForEachOther) {
  Scene clean(320, 240);
  clean.blur(0, 0, 320, 240, 2);
  Scene filled = clean;
  for (size_t i = 0; i < filled.img.data.size(); i += 3) {
    filled.img.data[i] = 0, filled.img.data[i + 1] = 135, filled.img.data[i + 2] = 0;
  }
  for (const Scene* first : {&clean, &filled}) {
    auto sel = BestShotSelector::create(BestShotConfig{});
    ASSERT_TRUE(sel.is_ok());
    BestShotSelector& s = *sel.value();
    TrackedObject o = face(14, 100, 60, 130, 120);
    o.state = TrackState::kTentative;
    ASSERT_TRUE(s.update(first->img.view(), {o}, 0).is_ok());
    o.state = TrackState::kConfirmed;
    ASSERT_TRUE(s.update(filled.img.view(), {o}, 40000).is_ok());
    ASSERT_TRUE(s.update(filled.img.view(), {o}, 80000).is_ok());
    ASSERT_TRUE(s.flush(120000).is_ok());
    EXPECT_EQ(s.records().size(), first == &clean ? 0u : 1u)
        << (first == &clean ? "a filled box won" : "a flat track lost its best shot");
  }
}

// A track that ends one observation after its first (a tentative one) has one reference, which
// the signature cannot judge by; the pixel check still drops a box filled with one colour, and
// the dropped crop is not the track's fallback either. A clean one is kept.
TEST(BestShot, AShortTrackEndingOnAFilledBoxEmitsNothing) {
  Scene clean(320, 240);
  clean.blur(0, 0, 320, 240, 2);
  Scene filled = clean;  // the box in the colour of never-decoded memory
  for (int y = 60; y < 160; ++y)
    for (int x = 100; x < 200; ++x) {
      uint8_t* p = &filled.img.data[(static_cast<size_t>(y) * 320 + x) * 3];
      p[0] = 0, p[1] = 135, p[2] = 0;
    }
  for (const Scene* second : {&filled, &clean}) {
    auto sel = BestShotSelector::create(BestShotConfig{});
    ASSERT_TRUE(sel.is_ok());
    BestShotSelector& s = *sel.value();
    TrackedObject o = face(12, 100, 60, 200, 160);
    o.state = TrackState::kTentative;
    ASSERT_TRUE(s.update(clean.img.view(), {o}, 0).is_ok());
    o.state = TrackState::kConfirmed;
    ASSERT_TRUE(s.update(second->img.view(), {o}, 40000).is_ok());
    o.state = TrackState::kRemoved;
    ASSERT_TRUE(s.update(clean.img.view(), {o}, 80000).is_ok());
    EXPECT_EQ(s.records().size(), second == &clean ? 1u : 0u)
        << (second == &clean ? "the clean track lost its best shot" : "the filled box won");
  }
}

// With top_k 1, a damaged observation that outscores the clean ones must not hold the only
// place: it is never emitted, and the track would end with no best shot (4 of vtest's 164
// tracks did).
TEST(BestShot, ADamagedCropDoesNotShutOutLaterCleanOnes) {
  Scene sharp(320, 240);
  Scene lined = sharp;
  for (int y = 100; y < 102; ++y)  // a saturated overlay line across the box (crop_damage)
    for (int x = 0; x < 320; ++x)
      for (int c = 0; c < 3; ++c) lined.img.data[(static_cast<size_t>(y) * 320 + x) * 3 + c] = 255;
  Scene blurred = sharp;
  blurred.blur(0, 0, 320, 240, 3);
  BestShotConfig cfg;
  cfg.max_transient = 0;  // only the damage score is under test here
  auto sel = BestShotSelector::create(cfg);
  ASSERT_TRUE(sel.is_ok());
  BestShotSelector& s = *sel.value();
  ASSERT_TRUE(s.update(lined.img.view(), {face(11, 100, 60, 200, 160)}, 0).is_ok());
  ASSERT_TRUE(s.update(blurred.img.view(), {face(11, 100, 60, 200, 160)}, 40000).is_ok());
  ASSERT_TRUE(s.flush(80000).is_ok());
  ASSERT_EQ(s.records().size(), 1u) << "the clean track emitted no best shot";
  ASSERT_EQ(s.records()[0].crops.size(), 1u);
  EXPECT_EQ(s.records()[0].crops[0].frame_index, 1);
}

// A clean track that sharpens and blurs smoothly keeps the winner the score alone gives it.
TEST(BestShot, ACleanSequenceKeepsItsWinner) {
  Scene base(320, 240);
  std::vector<Scene> frames(7, base);
  const int passes[7] = {5, 4, 3, 2, 3, 4, 5};  // the sharpest in the middle
  for (int i = 0; i < 7; ++i) frames[i].blur(90, 50, 210, 170, passes[i]);
  std::vector<const Scene*> seq;
  for (const Scene& f : frames) seq.push_back(&f);
  BestShotConfig cfg;
  EXPECT_EQ(winner(cfg, seq), 3);
  cfg.max_transient = 0;
  EXPECT_EQ(winner(cfg, seq), 3);
  // Nothing a clean sequence does is taken for damage.
  auto sel = BestShotSelector::create(BestShotConfig{});
  ASSERT_TRUE(sel.is_ok());
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(sel.value()->update(frames[i].img.view(), {face(4, 100, 60, 200, 160)}, i).is_ok());
  }
  ASSERT_TRUE(sel.value()->flush(7).is_ok());
  EXPECT_EQ(sel.value()->transient_rejects(), 0u);
}

TEST(BestShot, EachTermRanksTheWorseObservationLower) {
  Scene sharp(320, 240), blurred(320, 240);
  blurred.blur(100, 60, 200, 160, 4);
  QualityParams p;
  std::vector<uint8_t> g;
  auto score = [&](const Scene& sc, const TrackedObject& o) {
    const Rect r = crop_rect(o, 320, 240, 0);
    extract_luma(sc.img.view(), r, &g);
    return score_observation(o, 320, 240, g, r, p);
  };
  const QualityTerms best = score(sharp, face(1, 100, 60, 200, 160));
  const QualityTerms blur = score(blurred, face(1, 100, 60, 200, 160));
  const QualityTerms cut = score(sharp, face(1, -40, 60, 60, 160));
  const QualityTerms small = score(sharp, face(1, 130, 90, 160, 120));
  const QualityTerms turned = score(sharp, face(1, 100, 60, 200, 160, 0.25f));
  EXPECT_LT(blur.sharpness, best.sharpness);
  EXPECT_NEAR(cut.truncation, 0.3f, 1e-6);  // 60% visible, one side cut
  EXPECT_EQ(best.truncation, 1.0f);
  EXPECT_LT(small.size, best.size);
  EXPECT_LT(turned.frontal, best.frontal);
  for (const QualityTerms* t : {&blur, &cut, &small, &turned}) EXPECT_LT(t->total, best.total);
  p.aspect = 1.0f;
  const QualityTerms wide = score(sharp, face(1, 50, 60, 250, 160));
  EXPECT_NEAR(wide.aspect, 0.5f, 1e-6);
}

TEST(BestShot, EmitsOnTimeoutIntervalAndFlush) {
  BestShotConfig cfg;
  cfg.interval_us = 1000000;
  cfg.max_missing = 2;
  cfg.jpeg = true;
  auto sel = BestShotSelector::create(cfg);
  ASSERT_TRUE(sel.is_ok());
  BestShotSelector& s = *sel.value();
  Scene sc(160, 120);
  std::vector<std::pair<int64_t, int>> seen;  // (track, reason)
  auto run = [&](const std::vector<TrackedObject>& objs, int64_t ts) {
    ASSERT_TRUE(s.update(sc.img.view(), objs, ts).is_ok());
    for (const auto& r : s.records()) seen.emplace_back(r.track_id, static_cast<int>(r.reason));
  };
  // Track 1 lives 0..1.2 s; track 2 appears at 0.5 s and stays to the end of the stream.
  for (int f = 0; f <= 12; ++f) {
    std::vector<TrackedObject> objs = {face(1, 10, 10, 50, 50)};
    if (f >= 5) objs.push_back(face(2, 80, 20, 120, 60));
    run(objs, f * 100000);
  }
  ASSERT_EQ(seen.size(), 1u);  // at 1.0 s track 1's first shot is due
  EXPECT_EQ(seen[0], (std::pair<int64_t, int>{1, 1}));
  // Track 1 disappears; after max_missing (2) more updates it ends.
  for (int f = 13; f <= 16; ++f) run({face(2, 80, 20, 120, 60)}, f * 100000);
  // At 1.5 s track 1 ends and track 2's interval record is due (map order: 1 then 2).
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1], (std::pair<int64_t, int>{1, 0}));
  EXPECT_EQ(seen[2], (std::pair<int64_t, int>{2, 1}));
  ASSERT_TRUE(s.flush(1700000).is_ok());
  ASSERT_EQ(s.records().size(), 1u);  // the last live track is not lost
  const BestShotRecord& last = s.records()[0];
  EXPECT_EQ(last.track_id, 2);
  EXPECT_EQ(last.reason, BestShotReason::kFlush);
  ASSERT_EQ(last.crops.size(), 1u);
  // The JPEG decodes to the crop's size.
  const auto& jpg = last.crops[0].jpeg;
  ASSERT_GT(jpg.size(), 100u);
  tjhandle d = tjInitDecompress();
  int w = 0, h = 0, sub = 0, cs = 0;
  ASSERT_EQ(tjDecompressHeader3(d, jpg.data(), jpg.size(), &w, &h, &sub, &cs), 0);
  tjDestroy(d);
  EXPECT_EQ(w, last.crops[0].image.view.width);
  EXPECT_EQ(h, last.crops[0].image.view.height);
  EXPECT_EQ(s.live_tracks(), 0u);
  ASSERT_TRUE(s.flush(1800000).is_ok());
  EXPECT_TRUE(s.records().empty());
}

TEST(BestShot, AFullPoolDropsCropsInsteadOfFailing) {
  BestShotConfig cfg;
  cfg.pool_bytes = 64 << 10;  // one 100x100 crop (plus margin) fits, a second does not
  auto sel = BestShotSelector::create(cfg);
  ASSERT_TRUE(sel.is_ok());
  BestShotSelector& s = *sel.value();
  Scene sc(320, 240);
  ASSERT_TRUE(
      s.update(sc.img.view(), {face(1, 10, 10, 110, 110), face(2, 150, 10, 250, 110)}, 0).is_ok());
  EXPECT_EQ(s.dropped_crops(), 1u);
  ASSERT_TRUE(s.flush(1).is_ok());
  ASSERT_EQ(s.records().size(), 1u);
  EXPECT_EQ(s.records()[0].track_id, 1);
  EXPECT_EQ(s.pool_stats().in_use_buffers, 1u);
  // The next call releases the emitted crop, so track 2 fits now (a crop is kept once the
  // track's next observation has confirmed it).
  ASSERT_TRUE(s.update(sc.img.view(), {face(2, 150, 10, 250, 110)}, 2).is_ok());
  ASSERT_TRUE(s.update(sc.img.view(), {face(2, 150, 10, 250, 110)}, 3).is_ok());
  EXPECT_TRUE(s.current_best(2, nullptr, nullptr));
  EXPECT_EQ(s.pool_stats().in_use_buffers, 1u);
}

TEST(BestShot, PredictedBoxesAndOtherClassesAreNotScored) {
  BestShotConfig cfg;
  cfg.classes = {1};
  auto sel = BestShotSelector::create(cfg);
  ASSERT_TRUE(sel.is_ok());
  Scene sc(160, 120);
  TrackedObject predicted = face(1, 10, 10, 50, 50);
  predicted.time_since_update = 1;
  TrackedObject person = face(2, 60, 10, 100, 50);
  person.class_id = 0;
  ASSERT_TRUE(sel.value()->update(sc.img.view(), {predicted, person}, 0).is_ok());
  EXPECT_FALSE(sel.value()->current_best(1, nullptr, nullptr));
  EXPECT_FALSE(sel.value()->current_best(2, nullptr, nullptr));
  ASSERT_TRUE(sel.value()->flush(1).is_ok());
  EXPECT_TRUE(sel.value()->records().empty());
}

// Flicker: a tentative track that dies unconfirmed leaves no best shot; the same track once
// confirmed does.
TEST(BestShot, TentativeTracksGiveNoBestShot) {
  auto sel = BestShotSelector::create(BestShotConfig{});
  ASSERT_TRUE(sel.is_ok());
  Scene sc(160, 120);
  TrackedObject flicker = face(1, 10, 10, 50, 50);
  flicker.state = TrackState::kTentative;
  TrackedObject real = face(2, 60, 10, 100, 50);
  real.state = TrackState::kTentative;
  ASSERT_TRUE(sel.value()->update(sc.img.view(), {flicker, real}, 0).is_ok());
  EXPECT_FALSE(sel.value()->current_best(1, nullptr, nullptr));
  real.state = TrackState::kConfirmed;
  ASSERT_TRUE(sel.value()->update(sc.img.view(), {flicker, real}, 1).is_ok());
  ASSERT_TRUE(sel.value()->update(sc.img.view(), {flicker, real}, 2).is_ok());
  EXPECT_TRUE(sel.value()->current_best(2, nullptr, nullptr));
  flicker.state = real.state = TrackState::kRemoved;
  ASSERT_TRUE(sel.value()->update(sc.img.view(), {flicker, real}, 3).is_ok());
  ASSERT_EQ(sel.value()->records().size(), 1u);
  EXPECT_EQ(sel.value()->records()[0].track_id, 2);
}

TEST(BestShot, CropsConvertFromYuvAndGray) {
  // NV12 mid-grey (Y 126, U = V = 128) becomes BGR (128, 128, 128) within rounding.
  const int w = 8, h = 6;
  std::vector<uint8_t> nv12(w * h * 3 / 2, 128);
  std::fill(nv12.begin(), nv12.begin() + w * h, 126);
  ImageView v;
  v.format = PixelFormat::kNV12;
  v.width = w;
  v.height = h;
  v.planes[0] = nv12.data();
  v.planes[1] = nv12.data() + w * h;
  v.strides[0] = v.strides[1] = w;
  Image out;
  copy_crop_bgr(v, Rect{2, 2, 6, 5}, &out);
  ASSERT_EQ(out.data.size(), 4u * 3 * 3);
  for (uint8_t p : out.data) EXPECT_NEAR(p, 128, 1);
  std::vector<uint8_t> gray = {1, 2, 3, 4};
  copy_crop_bgr(ImageView::packed(PixelFormat::kGRAY8, 2, 2, gray.data(), 2), Rect{1, 0, 2, 2},
                &out);
  EXPECT_EQ(out.data, (std::vector<uint8_t>{2, 2, 2, 4, 4, 4}));
}

TEST(BestShot, BadInputAndConfigNameTheCause) {
  EXPECT_TRUE(parse_best_shot_config("").is_ok());
  auto ok = parse_best_shot_config(R"({"top_k": 3, "interval_s": 2.5, "weights": {"size": 2}})");
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->interval_us, 2500000);
  EXPECT_EQ(ok->quality.weights.size, 2.0f);
  auto msg = [](const char* j) { return parse_best_shot_config(j).status().message(); };
  EXPECT_EQ(msg(R"({"top_k": 0})").rfind("top_k:", 0), 0u);
  EXPECT_EQ(msg(R"({"jpeg_quality": 101})").rfind("jpeg_quality:", 0), 0u);
  EXPECT_EQ(msg(R"({"weights": {"colour": 1}})"), "weights.colour: unknown field");
  EXPECT_EQ(msg(R"({"sharp": 1})"), "sharp: unknown field");
  EXPECT_EQ(msg(R"({"jpeg": 1})"), "jpeg: expected true or false, got 1");
  EXPECT_EQ(msg(R"({"top_k": 0})"), "top_k: expected an integer in 1..64, got 0");
  EXPECT_EQ(msg(R"({"classes": [1, -1]})"),
            "classes[1]: expected an integer in 0..1048576, got -1");
  EXPECT_EQ(msg(R"({"weights": {"size": "big"}})"),
            "weights.size: expected a number in [0, 1000], got \"big\"");
  EXPECT_EQ(msg(R"({"weights": 2})"), "weights: expected an object, got 2");
  EXPECT_EQ(parse_best_shot_config("[1]").status().code(), StatusCode::kInvalidConfig);
  auto sel = BestShotSelector::create(BestShotConfig{});
  ASSERT_TRUE(sel.is_ok());
  ImageView empty;
  Status st = sel.value()->update(empty, {}, 0);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("best-shot frame"), std::string::npos) << st.message();
  JpegEncoder enc;
  std::vector<uint8_t> out;
  EXPECT_EQ(enc.encode(ImageView{}, 90, &out).code(), StatusCode::kInvalidArgument);
  Image one;
  one.width = one.height = 1;
  one.data = {1, 2, 3};
  EXPECT_EQ(enc.encode(one.view(), 0, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(enc.encode(one.view(), 90, &out).is_ok());
}

}  // namespace
}  // namespace vas
