#include "select/block_grid.h"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

namespace vas {
namespace {

int luma_at(const CropPixels& px, int x, int y) {
  const Rect& r = px.rect;
  const uint8_t* q = px.bgr.data() + (static_cast<size_t>(y - r.y0) * r.width() + (x - r.x0)) * 3;
  return (q[0] * 29 + q[1] * 150 + q[2] * 77 + 128) >> 8;
}

// One side of a grid block: the line it lies on (x for a vertical side, y for a horizontal
// one) and the span [from, to) along it.
struct Side {
  bool vertical = true;
  int line = 0, from = 0, to = 0;
};

// Whether `px` stored the side (the two pixels on each side of the line, over at least
// kBlockMinRun pixels of the span) and, if so, whether it is broken at `step` and `ratio`.
// The span is cut to what `px` stored.
bool side_broken(const CropPixels& px, const Side& s, float step, float ratio, bool* stored) {
  const Rect& r = px.rect;
  const int lo = s.vertical ? r.x0 : r.y0, hi = s.vertical ? r.x1 : r.y1;
  const int from = std::max(s.from, s.vertical ? r.y0 : r.x0);
  const int to = std::min(s.to, s.vertical ? r.y1 : r.x1);
  *stored = s.line - 2 >= lo && s.line + 1 < hi && to - from >= kBlockMinRun;
  if (!*stored) return false;
  int across = 0, beside = 0;
  for (int t = from; t < to; ++t) {
    int v[4];
    for (int k = 0; k < 4; ++k) {
      const int p = s.line - 2 + k;
      v[k] = s.vertical ? luma_at(px, p, t) : luma_at(px, t, p);
    }
    across += std::abs(v[2] - v[1]);
    beside += std::abs(v[1] - v[0]) + std::abs(v[3] - v[2]);
  }
  const float n = static_cast<float>(to - from);
  const float a = static_cast<float>(across) / n, b = 0.5f * static_cast<float>(beside) / n;
  return a >= step && a >= ratio * b + 2.0f;
}

}  // namespace

int novel_blocks(const CropPixels& cur, const CropPixels& a, const CropPixels* b) {
  if (!cur.valid() || !a.valid() || (b != nullptr && !b->valid())) return 0;
  constexpr int g = kBlockGrid;
  const Rect& r = cur.rect;
  // Broken sides per block, keyed by the block's grid column and row.
  std::vector<std::pair<std::pair<int, int>, int>> blocks;
  auto count = [&blocks](int bx, int by) {
    for (auto& [key, n] : blocks) {
      if (key == std::make_pair(bx, by)) {
        ++n;
        return;
      }
    }
    blocks.push_back({{bx, by}, 1});
  };
  auto novel = [&](const Side& s) {
    bool stored = false;
    if (!side_broken(cur, s, kBlockStep, kBlockRatio, &stored)) return false;
    bool seen = false;  // a reference stored this side
    for (const CropPixels* ref : {&a, b}) {
      if (ref == nullptr) continue;
      bool ref_stored = false;
      if (side_broken(*ref, s, 0.5f * kBlockStep, 0.5f * kBlockRatio, &ref_stored)) return false;
      seen = seen || ref_stored;
    }
    return seen;
  };
  for (int vertical = 0; vertical < 2; ++vertical) {
    const int lo = vertical ? r.x0 : r.y0, hi = vertical ? r.x1 : r.y1;
    const int alo = vertical ? r.y0 : r.x0, ahi = vertical ? r.y1 : r.x1;
    for (int line = (lo / g + 1) * g; line + 1 < hi; line += g) {
      for (int cell = alo / g; cell * g < ahi; ++cell) {
        const Side s{vertical != 0, line, cell * g, cell * g + g};
        if (!novel(s)) continue;
        // The line is the border of the blocks on either side of it.
        if (vertical) {
          count(line / g - 1, cell);
          count(line / g, cell);
        } else {
          count(cell, line / g - 1);
          count(cell, line / g);
        }
      }
    }
  }
  return static_cast<int>(
      std::count_if(blocks.begin(), blocks.end(), [](const auto& e) { return e.second >= 2; }));
}

}  // namespace vas
