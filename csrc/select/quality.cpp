#include "select/quality.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "select/jpeg.h"

namespace vas {

namespace {

// v clamped to [0, hi] before the conversion, which is undefined for values outside int
// (a caller's box may lie anywhere); NaN maps to 0.
int to_pixel(double v, int hi) {
  if (!(v > 0)) return 0;
  return v >= hi ? hi : static_cast<int>(v);
}

}  // namespace

Rect crop_rect(const TrackedObject& obj, int w, int h, float margin) {
  const float bw = obj.x2 - obj.x1, bh = obj.y2 - obj.y1;  // float, as the scores were tuned
  Rect r;
  r.x0 = to_pixel(std::floor(obj.x1 - margin * bw), w);
  r.y0 = to_pixel(std::floor(obj.y1 - margin * bh), h);
  r.x1 = to_pixel(std::ceil(obj.x2 + margin * bw), w);
  r.y1 = to_pixel(std::ceil(obj.y2 + margin * bh), h);
  if (r.x1 < r.x0) r.x1 = r.x0;
  if (r.y1 < r.y0) r.y1 = r.y0;
  return r;
}

void extract_luma(const ImageView& img, const Rect& rect, std::vector<uint8_t>* gray) {
  const int w = rect.width(), h = rect.height();
  gray->resize(static_cast<size_t>(std::max(w, 0)) * std::max(h, 0));
  const bool bgr = img.format == PixelFormat::kBGR24;
  const bool rgb = img.format == PixelFormat::kRGB24;
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = img.planes[0] + static_cast<size_t>(rect.y0 + y) * img.strides[0];
    uint8_t* dst = gray->data() + static_cast<size_t>(y) * w;
    if (bgr || rgb) {
      const uint8_t* p = row + 3 * rect.x0;
      const int wb = bgr ? 29 : 77, wr = bgr ? 77 : 29;  // fixed-point 0.114 / 0.299 (x256)
      for (int x = 0; x < w; ++x, p += 3) {
        dst[x] = static_cast<uint8_t>((p[0] * wb + p[1] * 150 + p[2] * wr + 128) >> 8);
      }
    } else {
      std::copy(row + rect.x0, row + rect.x0 + w, dst);
    }
  }
}

double laplacian_variance(const uint8_t* g, int w, int h, int stride) {
  if (w < 3 || h < 3) return 0;
  double sum = 0, sum2 = 0;
  for (int y = 1; y < h - 1; ++y) {
    const uint8_t* up = g + static_cast<size_t>(y - 1) * stride;
    const uint8_t* mid = up + stride;
    const uint8_t* dn = mid + stride;
    int64_t s = 0, s2 = 0;  // one row fits easily: |lap| <= 1020
    for (int x = 1; x < w - 1; ++x) {
      const int lap = up[x] + dn[x] + mid[x - 1] + mid[x + 1] - 4 * mid[x];
      s += lap;
      s2 += static_cast<int64_t>(lap) * lap;
    }
    sum += static_cast<double>(s);
    sum2 += static_cast<double>(s2);
  }
  const double n = static_cast<double>(w - 2) * (h - 2);
  const double mean = sum / n;
  return std::max(0.0, sum2 / n - mean * mean);
}

namespace {

// A row (or column) where nearly every pixel jumps against its neighbour, in a crop whose
// rows mostly do not: an overlay line, the edge of a bar. Natural edges in a crop are neither
// straight nor that long; a fine texture jumps everywhere and is left alone.
constexpr int kJump = 24;
constexpr double kLineShare = 0.85;
constexpr double kTypicalShare = 0.5;

bool has_outlier(std::vector<int> counts, int length) {
  if (counts.size() < 3) return false;
  const int top = *std::max_element(counts.begin(), counts.end());
  std::nth_element(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(counts.size() / 2),
                   counts.end());
  const int median = counts[counts.size() / 2];
  return top >= kLineShare * length && median <= kTypicalShare * length;
}

float line_damage(const uint8_t* g, int w, int h) {
  if (w < 16 || h < 16) return 0;
  std::vector<int> rows(static_cast<size_t>(h - 1), 0), cols(static_cast<size_t>(w - 1), 0);
  for (int y = 0; y < h; ++y) {
    const uint8_t* r = g + static_cast<size_t>(y) * w;
    for (int x = 1; x < w; ++x) cols[x - 1] += std::abs(r[x] - r[x - 1]) >= kJump;
    if (y == 0) continue;
    const uint8_t* above = r - w;
    for (int x = 0; x < w; ++x) rows[y - 1] += std::abs(r[x] - above[x]) >= kJump;
  }
  return has_outlier(rows, w) || has_outlier(cols, h) ? 1.0f : 0.0f;
}

// A band of rows shifted sideways against the rows above it (a torn or misplaced slice): the
// row differs from the one above far more than it does after a horizontal shift.
float tear_damage(const uint8_t* g, int w, int h) {
  if (w < 32 || h < 16) return 0;
  const int max_shift = std::min(24, w / 4);  // wider searches mistook natural rows for shifts
  auto row_diff = [&](int y, int shift) {
    const uint8_t* a = g + static_cast<size_t>(y - 1) * w;
    const uint8_t* b = a + w;
    int64_t sum = 0;
    for (int x = max_shift; x < w - max_shift; ++x) sum += std::abs(b[x] - a[x + shift]);
    return static_cast<double>(sum) / (w - 2 * max_shift);
  };
  std::vector<double> d(static_cast<size_t>(h), 0.0);
  for (int y = 1; y < h; ++y) d[y] = row_diff(y, 0);
  std::vector<double> sorted(d.begin() + 1, d.end());
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2),
                   sorted.end());
  const double typical = sorted[sorted.size() / 2];
  for (int y = 1; y < h; ++y) {
    if (d[y] < 6 || d[y] < 3 * typical) continue;  // only rows that stand out are tried
    double best = d[y];
    int best_shift = 0;
    for (int s = -max_shift; s <= max_shift; ++s) {
      const double v = row_diff(y, s);
      if (v < best) best = v, best_shift = s;
    }
    if (std::abs(best_shift) >= 4 && best < 0.4 * d[y]) return 1;
  }
  return 0;
}

}  // namespace

double noise_sigma(const uint8_t* g, int w, int h) {
  if (w < 3 || h < 3) return 0;
  double sum = 0;
  for (int y = 1; y < h - 1; ++y) {
    const uint8_t* u = g + static_cast<size_t>(y - 1) * w;
    const uint8_t* m = u + w;
    const uint8_t* d = m + w;
    for (int x = 1; x < w - 1; ++x) {
      const int v = u[x - 1] - 2 * u[x] + u[x + 1] - 2 * m[x - 1] + 4 * m[x] - 2 * m[x + 1] +
                    d[x - 1] - 2 * d[x] + d[x + 1];
      sum += std::abs(v);
    }
  }
  constexpr double kHalfPi = 1.5707963267948966;
  return std::sqrt(kHalfPi) * sum / (6.0 * (w - 2) * (h - 2));
}

float noise_damage(double sigma, double typical) {
  if (!(typical > 0) || sigma < 4) return 0;
  return static_cast<float>(std::clamp((sigma / std::max(typical, 1.0) - 2.0) / 2.0, 0.0, 1.0));
}

namespace {

// Codec blocks gone wrong (flat 8x8 blocks with steps between them): steps on the block grid
// far above the differences inside blocks. Also rows copied down from the row above, the
// smear of error concealment.
float block_damage(const uint8_t* g, int w, int h, int x0, int y0) {
  if (w < 16 || h < 16) return 0;
  double grid = 0, inner = 0;
  int64_t n_grid = 0, n_inner = 0;
  int copied = 0;
  for (int y = 0; y < h; ++y) {
    const uint8_t* r = g + static_cast<size_t>(y) * w;
    for (int x = 1; x < w; ++x) {
      const int d = std::abs(r[x] - r[x - 1]);
      if ((x0 + x) % 8 == 0) {
        grid += d;
        ++n_grid;
      } else {
        inner += d;
        ++n_inner;
      }
    }
    if (y > 0) {
      const uint8_t* above = r - w;
      const bool on_grid = (y0 + y) % 8 == 0;
      int same = 0, lo = 255, hi = 0;
      for (int x = 0; x < w; ++x) {
        const int d = std::abs(r[x] - above[x]);
        same += d == 0;
        lo = std::min<int>(lo, r[x]);
        hi = std::max<int>(hi, r[x]);
        (on_grid ? grid : inner) += d;
        ++(on_grid ? n_grid : n_inner);
      }
      // A flat row (dark background) repeats naturally; a textured one does not.
      copied += same >= 0.95 * w && hi - lo >= 16;
    }
  }
  float blocks = 0;
  if (n_grid > 0 && n_inner > 0) {
    const double g_mean = grid / static_cast<double>(n_grid);
    const double i_mean = inner / static_cast<double>(n_inner);
    if (g_mean >= 3)
      blocks = static_cast<float>(std::clamp((g_mean / (i_mean + 0.5) - 3) / 3, 0.0, 1.0));
  }
  const float smear =
      std::clamp(static_cast<float>(copied) / (0.2f * static_cast<float>(h)), 0.0f, 1.0f);
  return std::max(blocks, smear);
}

}  // namespace

float crop_damage(const uint8_t* gray, int width, int height, int x0, int y0) {
  if (gray == nullptr || width <= 0 || height <= 0) return 0;
  return std::max({line_damage(gray, width, height), tear_damage(gray, width, height),
                   block_damage(gray, width, height, x0, y0)});
}

void signature_grid(int width, int height, float cell, int* nx, int* ny) {
  auto count = [cell](int side) {
    const int n = cell > 0 ? static_cast<int>(static_cast<float>(side) / cell) : 1;
    return std::clamp(n, 1, CropSignature::kMaxGrid);
  };
  *nx = count(width);
  *ny = count(height);
}

void crop_signature(const uint8_t* g, int w, int h, int nx, int ny, CropSignature* out) {
  *out = CropSignature{};
  if (g == nullptr || w < 5 || h < 5 || nx < 1 || ny < 1 || nx > CropSignature::kMaxGrid ||
      ny > CropSignature::kMaxGrid)
    return;
  out->nx = nx;
  out->ny = ny;
  // A speck stands this far above (or below) every pixel two steps away: the 8 samples of the
  // 5x5 ring miss a 2x2 speck itself, while any edge or line has ring samples on its own side.
  constexpr int kImpulse = 40;
  std::array<int64_t, CropSignature::kCells> sum{}, energy{};
  std::array<int, CropSignature::kCells> area{}, impulses{};
  std::vector<int> col_cell(static_cast<size_t>(w));
  for (int x = 0; x < w; ++x) col_cell[x] = x * nx / w;
  for (int y = 0; y < h; ++y) {
    const uint8_t* r = g + static_cast<size_t>(y) * w;
    const int row_base = (y * ny / h) * CropSignature::kMaxGrid;
    const bool lap_row = y >= 1 && y < h - 1, ring_row = y >= 2 && y < h - 2;
    for (int x = 0; x < w; ++x) {
      const int c = row_base + col_cell[x];
      sum[c] += r[x];
      ++area[c];
      if (lap_row && x >= 1 && x < w - 1) {
        const int lap = r[x - w] + r[x + w] + r[x - 1] + r[x + 1] - 4 * r[x];
        energy[c] += lap * lap;
      }
      if (ring_row && x >= 2 && x < w - 2) {
        const uint8_t* up = r - 2 * w;
        const uint8_t* dn = r + 2 * w;
        const int ring[8] = {up[x - 2], up[x],     up[x + 2], r[x - 2],
                             r[x + 2],  dn[x - 2], dn[x],     dn[x + 2]};
        const int hi = *std::max_element(ring, ring + 8), lo = *std::min_element(ring, ring + 8);
        impulses[c] += r[x] > hi + kImpulse || r[x] < lo - kImpulse;
      }
    }
  }
  for (int c = 0; c < CropSignature::kCells; ++c) {
    if (area[c] == 0) continue;
    out->mean[c] = static_cast<float>(sum[c]) / static_cast<float>(area[c]);
    out->energy[c] = static_cast<float>(energy[c]) / static_cast<float>(area[c]);
    out->impulses[c] = static_cast<float>(impulses[c]);
  }
}

namespace {

// The difference of one cell between two signatures (see transient_change for the units). The
// energy floor keeps flat cells, where a little noise is a large ratio, from counting.
float cell_difference(const CropSignature& a, const CropSignature& b, int c) {
  constexpr float kEnergyFloor = 50, kMeanUnit = 12, kImpulseUnit = 2;
  const float de = std::fabs(std::log((a.energy[c] + kEnergyFloor) / (b.energy[c] + kEnergyFloor)));
  const float dm = std::fabs(a.mean[c] - b.mean[c]) / kMeanUnit;
  const float di = std::fabs(a.impulses[c] - b.impulses[c]) / kImpulseUnit;
  return std::max({de, dm, di});
}

}  // namespace

float transient_change(const CropSignature& cur, const CropSignature& a, const CropSignature* b) {
  auto same_grid = [&cur](const CropSignature& s) {
    return s.valid() && s.nx == cur.nx && s.ny == cur.ny;
  };
  if (!cur.valid() || !same_grid(a) || (b != nullptr && !same_grid(*b))) return 0;
  float worst = 0;
  for (int y = 0; y < cur.ny; ++y) {
    for (int x = 0; x < cur.nx; ++x) {
      const int c = y * CropSignature::kMaxGrid + x;
      float v = cell_difference(cur, a, c);
      if (b != nullptr) v = std::min(v, cell_difference(cur, *b, c)) - cell_difference(a, *b, c);
      worst = std::max(worst, v);
    }
  }
  return worst;
}

Rect CropPixels::near_box() const {
  constexpr int r = kNoveltyRadius;
  return Rect{std::max(rect.x0, box.x0 - r), std::max(rect.y0, box.y0 - r),
              std::min(rect.x1, box.x1 + r), std::min(rect.y1, box.y1 + r)};
}

void capture_pixels(const ImageView& img, const Rect& box, CropPixels* out, const Rect* crop) {
  constexpr int r = CropPixels::kNoveltyRadius;
  out->box = box;
  const Rect c = crop != nullptr ? *crop : box;
  out->crop = Rect{std::min(c.x0, box.x0), std::min(c.y0, box.y0), std::max(c.x1, box.x1),
                   std::max(c.y1, box.y1)};
  out->rect = Rect{std::max(0, out->crop.x0 - r), std::max(0, out->crop.y0 - r),
                   std::min(img.width, out->crop.x1 + r), std::min(img.height, out->crop.y1 + r)};
  const int w = out->rect.width(), h = out->rect.height();
  out->bgr.resize(static_cast<size_t>(std::max(w, 0)) * std::max(h, 0) * 3);
  if (w > 0 && h > 0) copy_crop_bgr(img, out->rect, out->bgr.data(), 3 * w);
}

namespace {

// Whether pixel (x, y) of `ref` (frame coordinates, any point) has a colour within `threshold`
// of `px` in every channel, somewhere in the window of kNoveltyRadius around it.
bool found_near(const CropPixels& ref, int x, int y, const uint8_t* px, int threshold, int r) {
  const Rect& a = ref.rect;
  const Rect n = ref.near_box();
  const int w = a.width();
  const int xa = std::max(n.x0, x - r), xb = std::min(n.x1 - 1, x + r);
  const int ya = std::max(n.y0, y - r), yb = std::min(n.y1 - 1, y + r);
  for (int yy = ya; yy <= yb; ++yy) {
    const uint8_t* row = ref.bgr.data() + static_cast<size_t>(yy - a.y0) * w * 3;
    for (int xx = xa; xx <= xb; ++xx) {
      const uint8_t* q = row + 3 * (xx - a.x0);
      if (std::abs(q[0] - px[0]) <= threshold && std::abs(q[1] - px[1]) <= threshold &&
          std::abs(q[2] - px[2]) <= threshold)
        return true;
    }
  }
  return false;
}

}  // namespace

int novel_structure(const CropPixels& cur, const CropPixels& a, const CropPixels* b, int threshold,
                    int radius) {
  if (!cur.valid() || !a.valid() || (b != nullptr && !b->valid())) return 0;
  const int w = cur.box.width(), h = cur.box.height();
  if (w < 5 || h < 5) return 0;
  // The fingerprints are read in the box and kNoveltyRadius pixels around it where the frame
  // has them: a box of 9x16 pixels has only 5x12 pixels whose 5x5 surroundings lie inside it,
  // so damage near its edges would go unseen.
  const Rect area = cur.near_box();
  const Rect& stored = cur.rect;
  const int sw = stored.width();
  auto inside = [&area](int x, int y) {  // frame coordinates
    return x >= area.x0 && x < area.x1 && y >= area.y0 && y < area.y1;
  };
  auto at = [&](int x, int y) {  // frame coordinates, inside the stored area
    return cur.bgr.data() + (static_cast<size_t>(y - stored.y0) * sw + (x - stored.x0)) * 3;
  };
  auto same = [](const uint8_t* p, const uint8_t* q) {
    return p[0] == q[0] && p[1] == q[1] && p[2] == q[2];
  };
  auto luma = [](const uint8_t* p) { return (p[0] * 29 + p[1] * 150 + p[2] * 77 + 128) >> 8; };
  // Where a pixel of the box falls in another observation's box: the same place relative to
  // the box, the boxes scaled onto each other.
  auto mapped = [&cur, w, h](const CropPixels& ref, int x, int y, int* rx, int* ry) {
    *rx = ref.box.x0 + static_cast<int>(std::floor((x - cur.box.x0 + 0.5) * ref.box.width() / w));
    *ry = ref.box.y0 + static_cast<int>(std::floor((y - cur.box.y0 + 0.5) * ref.box.height() / h));
  };
  // A block of one exact colour: the pixel and one of the 2x2 squares it belongs to. Decoded
  // video has such blocks (flat areas), but they are found again in the neighbouring
  // observations; a small rectangle of a new colour (a corrupt block, a few pixels wide) has no
  // 3x3 flat core nor a 4-row run, and would otherwise pass.
  auto in_block = [&](int x, int y) {
    const uint8_t* p = at(x, y);
    for (int dy = -1; dy <= 0; ++dy) {
      for (int dx = -1; dx <= 0; ++dx) {
        const int x0 = x + dx, y0 = y + dy;
        if (!inside(x0, y0) || !inside(x0 + 1, y0 + 1)) continue;
        if (same(p, at(x0, y0)) && same(p, at(x0 + 1, y0)) && same(p, at(x0, y0 + 1)) &&
            same(p, at(x0 + 1, y0 + 1)))
          return true;
      }
    }
    return false;
  };
  constexpr int kImpulse = 40;
  int count = 0;
  for (int y = cur.box.y0; y < cur.box.y1; ++y) {
    for (int x = cur.box.x0; x < cur.box.x1; ++x) {
      const uint8_t* p = at(x, y);
      bool block = in_block(x, y);
      bool run = false;  // 4 rows of exactly the same pixel, this one among them
      for (int y0 = std::max(area.y0, y - 3); y0 <= std::min(y, area.y1 - 4) && !run && !block;
           ++y0) {
        run = same(at(x, y0), at(x, y0 + 1)) && same(at(x, y0 + 1), at(x, y0 + 2)) &&
              same(at(x, y0 + 2), at(x, y0 + 3));
      }
      bool impulse = false;
      if (!block && !run && inside(x - 2, y - 2) && inside(x + 2, y + 2)) {
        int lo = 255, hi = 0;
        for (int dy = -2; dy <= 2; dy += 2) {
          for (int dx = -2; dx <= 2; dx += 2) {
            if (dx == 0 && dy == 0) continue;
            const int v = luma(at(x + dx, y + dy));
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
        }
        const int v = luma(p);
        impulse = v > hi + kImpulse || v < lo - kImpulse;
      }
      if (!block && !run && !impulse) continue;
      int rx = 0, ry = 0;
      mapped(a, x, y, &rx, &ry);
      if (found_near(a, rx, ry, p, threshold, radius)) continue;
      if (b != nullptr) {
        mapped(*b, x, y, &rx, &ry);
        if (found_near(*b, rx, ry, p, threshold, radius)) continue;
      }
      ++count;
    }
  }
  return count;
}

namespace {

// The streak masks of a stored area: `runs` is 1 where the pixel lies in a vertical run of 4
// exactly repeated pixels; `streaks` (when not null) where it also lies in a row segment of at
// least 8 such pixels whose luma spans 16 levels or more (see novel_streaks).
void streak_masks(const CropPixels& px, std::vector<uint8_t>* runs_out,
                  std::vector<uint8_t>* streaks) {
  constexpr int kRun = 4, kWidth = 8, kTexture = 16;
  const Rect& a = px.rect;
  const int w = a.width(), h = a.height();
  const size_t n = static_cast<size_t>(std::max(w, 0)) * std::max(h, 0);
  std::vector<uint8_t>& runs = *runs_out;
  runs.assign(n, 0);
  if (streaks != nullptr) streaks->assign(n, 0);
  if (w < kWidth || h < kRun) return;
  const uint8_t* p = px.bgr.data();
  // Row by row (the buffer's order): len[x] is the length of the run of equal pixels in column
  // x ending at row y - 1, and a run is marked when it ends.
  std::vector<int> len(static_cast<size_t>(w), 1);
  const size_t row_bytes = static_cast<size_t>(w) * 3;
  for (int y = 1; y <= h; ++y) {
    const uint8_t* above = p + (y - 1) * row_bytes;
    const uint8_t* row = above + row_bytes;
    for (int x = 0; x < w; ++x) {
      if (y < h && row[3 * x] == above[3 * x] && row[3 * x + 1] == above[3 * x + 1] &&
          row[3 * x + 2] == above[3 * x + 2]) {
        ++len[x];
        continue;
      }
      if (len[x] >= kRun) {
        for (int yy = y - len[x]; yy < y; ++yy) runs[static_cast<size_t>(yy) * w + x] = 1;
      }
      len[x] = 1;
    }
  }
  if (streaks == nullptr) return;
  for (int y = 0; y < h; ++y) {
    const uint8_t* m = runs.data() + static_cast<size_t>(y) * w;
    for (int x = 0; x < w;) {
      if (m[x] == 0) {
        ++x;
        continue;
      }
      const int x0 = x;
      int lo = 255, hi = 0;
      for (; x < w && m[x] != 0; ++x) {
        const uint8_t* q = p + (static_cast<size_t>(y) * w + x) * 3;
        const int v = (q[0] * 29 + q[1] * 150 + q[2] * 77 + 128) >> 8;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      if (x - x0 >= kWidth && hi - lo >= kTexture) {
        std::fill(streaks->begin() + static_cast<std::ptrdiff_t>(y) * w + x0,
                  streaks->begin() + static_cast<std::ptrdiff_t>(y) * w + x, 1);
      }
    }
  }
}

}  // namespace

int novel_streaks(const CropPixels& cur, const CropPixels& a, const CropPixels* b, int radius) {
  if (!cur.valid() || !a.valid() || (b != nullptr && !b->valid())) return 0;
  const int w = cur.box.width(), h = cur.box.height();
  if (w < 5 || h < 5) return 0;
  std::vector<uint8_t> runs, streaks, ma, mb;
  streak_masks(cur, &runs, &streaks);
  // Whether `ref` has a vertical run (a streak or a flat area) within `radius` of (rx, ry),
  // searching `within` (its box's surroundings for a pixel of the box, its whole stored area
  // for one of the margin). A window the reference did not store (clipped at the frame's edge)
  // says nothing, and counts as found.
  auto found_at = [radius](const CropPixels& ref, const std::vector<uint8_t>& m, const Rect& within,
                           int rx, int ry) {
    const int ya = std::max(within.y0, ry - radius), yb = std::min(within.y1 - 1, ry + radius);
    const int xa = std::max(within.x0, rx - radius), xb = std::min(within.x1 - 1, rx + radius);
    if (ya > yb || xa > xb) return true;
    const Rect& r = ref.rect;
    for (int yy = ya; yy <= yb; ++yy) {
      for (int xx = xa; xx <= xb; ++xx) {
        if (m[static_cast<size_t>(yy - r.y0) * r.width() + (xx - r.x0)] != 0) return true;
      }
    }
    return false;
  };
  // The same place of (x, y) in `ref`'s box (the boxes scaled onto each other) and, for a pixel
  // of the margin, the same place in the frame.
  auto found = [&](const CropPixels& ref, const std::vector<uint8_t>& m, int x, int y) {
    const int rx =
        ref.box.x0 + static_cast<int>(std::floor((x - cur.box.x0 + 0.5) * ref.box.width() / w));
    const int ry =
        ref.box.y0 + static_cast<int>(std::floor((y - cur.box.y0 + 0.5) * ref.box.height() / h));
    const bool in_box = x >= cur.box.x0 && x < cur.box.x1 && y >= cur.box.y0 && y < cur.box.y1;
    if (in_box) return found_at(ref, m, ref.near_box(), rx, ry);
    return found_at(ref, m, ref.rect, rx, ry) || found_at(ref, m, ref.rect, x, y);
  };
  bool masks_ready = false;
  int count = 0;
  const Rect& area = cur.rect;
  const Rect scan = cur.crop.width() > 0 ? cur.crop : cur.box;
  for (int y = std::max(scan.y0, area.y0); y < std::min(scan.y1, area.y1); ++y) {
    for (int x = std::max(scan.x0, area.x0); x < std::min(scan.x1, area.x1); ++x) {
      if (streaks[static_cast<size_t>(y - area.y0) * area.width() + (x - area.x0)] == 0) continue;
      if (!masks_ready) {  // most boxes have no streak: the references' masks only when needed
        streak_masks(a, &ma, nullptr);
        if (b != nullptr) streak_masks(*b, &mb, nullptr);
        masks_ready = true;
      }
      if (found(a, ma, x, y) || (b != nullptr && found(*b, mb, x, y))) continue;
      ++count;
    }
  }
  return count;
}

int luma_range(const CropPixels& px, int stop) {
  if (!px.valid()) return -1;
  const Rect& a = px.rect;
  int lo = 255, hi = 0;
  for (int y = px.box.y0; y < px.box.y1 && hi - lo < stop; ++y) {
    const uint8_t* q =
        px.bgr.data() + (static_cast<size_t>(y - a.y0) * a.width() + (px.box.x0 - a.x0)) * 3;
    for (int x = px.box.x0; x < px.box.x1; ++x, q += 3) {
      const int v = (q[0] * 29 + q[1] * 150 + q[2] * 77 + 128) >> 8;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  return hi - lo;
}

float face_frontalness(const float lm[10]) {
  const float lex = lm[0], ley = lm[1], rex = lm[2], rey = lm[3], nx = lm[4];
  const float dx = rex - lex, dy = rey - ley;
  const float eye_dist = std::hypot(dx, dy);
  if (!(eye_dist > 0)) return 0;
  // Yaw: how far the nose sits from the eyes' midpoint along the eye line, in eye distances.
  const float mx = 0.5f * (lex + rex), my = 0.5f * (ley + rey);
  const float along = ((nx - mx) * dx + (lm[5] - my) * dy) / eye_dist;
  const float yaw = std::max(0.0f, 1.0f - 2.0f * std::fabs(along) / eye_dist);
  // Roll: angle of the eye line; 45 degrees or more scores 0.
  const float roll = std::fabs(std::atan2(dy, std::fabs(dx)));
  const float roll_term = std::max(0.0f, 1.0f - roll / 0.785398f);
  return yaw * roll_term;
}

QualityTerms score_observation(const TrackedObject& obj, int image_width, int image_height,
                               const std::vector<uint8_t>& gray, const Rect& rect,
                               const QualityParams& p) {
  QualityTerms t;
  const float bw = obj.x2 - obj.x1, bh = obj.y2 - obj.y1;
  t.detector = std::clamp(obj.score, 0.0f, 1.0f);
  t.size = bw > 0 && bh > 0 ? std::min(1.0f, std::sqrt(bw * bh) / p.size_ref) : 0.0f;
  t.laplacian_variance = laplacian_variance(gray.data(), rect.width(), rect.height(), rect.width());
  t.sharpness = static_cast<float>(t.laplacian_variance / (t.laplacian_variance + p.sharpness_ref));
  // Truncation: the visible share of the box, halved for every side cut by a frame edge.
  const float area = bw * bh;
  const float visible = area > 0 ? static_cast<float>(rect.width()) * rect.height() / area : 0.0f;
  int cut = 0;
  cut += obj.x1 <= p.edge_margin;
  cut += obj.y1 <= p.edge_margin;
  cut += obj.x2 >= image_width - p.edge_margin;
  cut += obj.y2 >= image_height - p.edge_margin;
  t.truncation = std::min(1.0f, visible) * std::pow(0.5f, static_cast<float>(cut));
  t.aspect = 1.0f;
  if (p.aspect > 0 && bw > 0 && bh > 0) {
    const float r = bw / bh;
    t.aspect = std::min(r / p.aspect, p.aspect / r);
  }
  const bool face = obj.num_landmarks == 5;
  t.frontal = face ? face_frontalness(obj.landmarks) : 0.0f;
  const QualityWeights& w = p.weights;
  float sum = w.detector * t.detector + w.size * t.size + w.sharpness * t.sharpness +
              w.truncation * t.truncation + (p.aspect > 0 ? w.aspect * t.aspect : 0.0f);
  float wsum = w.detector + w.size + w.sharpness + w.truncation + (p.aspect > 0 ? w.aspect : 0);
  if (face) {
    sum += w.frontal * t.frontal;
    wsum += w.frontal;
  }
  t.structural = crop_damage(gray.data(), rect.width(), rect.height(), rect.x0, rect.y0);
  t.damage = t.structural;
  t.noise_sigma = noise_sigma(gray.data(), rect.width(), rect.height());
  t.undamaged = wsum > 0 ? sum / wsum : 0.0f;
  t.total = t.undamaged * (1.0f - t.damage);
  return t;
}

}  // namespace vas
