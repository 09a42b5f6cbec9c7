#include "core/draw.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace vas {
namespace {

// 5x7 glyphs: seven rows, five bits each (bit 4 = leftmost column).
struct Glyph {
  char ch;
  std::array<uint8_t, 7> rows;
};

constexpr Glyph kFont[] = {
    {' ', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
    {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
    {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
    {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
    {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
    {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
    {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
    {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
    {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
    {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
    {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
    {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
    {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
    {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}},
    {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
    {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
    {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
    {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
    {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
    {'<', {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}},
    {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}},
    {'>', {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}},
    {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}},
    {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
};

const std::array<uint8_t, 7>& glyph(char ch) {
  if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  for (const Glyph& g : kFont) {
    if (g.ch == ch) return g.rows;
  }
  for (const Glyph& g : kFont) {
    if (g.ch == '?') return g.rows;
  }
  return kFont[0].rows;
}

void put(const Canvas& c, int x, int y, Color color) {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  uint8_t* p = c.data + static_cast<size_t>(y) * c.stride + static_cast<size_t>(x) * 3;
  p[0] = color.b;
  p[1] = color.g;
  p[2] = color.r;
}

// Liang-Barsky clip of a segment to [lo, hi] on both axes; false when nothing is left.
bool clip(PointF* a, PointF* b, float xhi, float yhi) {
  float t0 = 0, t1 = 1;
  const float dx = b->x - a->x, dy = b->y - a->y;
  const float p[4] = {-dx, dx, -dy, dy};
  const float q[4] = {a->x, xhi - a->x, a->y, yhi - a->y};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
      continue;
    }
    const float t = q[i] / p[i];
    if (p[i] < 0) {
      t0 = std::max(t0, t);
    } else {
      t1 = std::min(t1, t);
    }
    if (t0 > t1) return false;
  }
  const PointF a0 = *a;
  *a = {a0.x + t0 * dx, a0.y + t0 * dy};
  *b = {a0.x + t1 * dx, a0.y + t1 * dy};
  return true;
}

}  // namespace

void fill_rect(const Canvas& c, int x1, int y1, int x2, int y2, Color color) {
  x1 = std::max(x1, 0);
  y1 = std::max(y1, 0);
  x2 = std::min(x2, c.width - 1);
  y2 = std::min(y2, c.height - 1);
  for (int y = y1; y <= y2; ++y) {
    for (int x = x1; x <= x2; ++x) put(c, x, y, color);
  }
}

void draw_line(const Canvas& c, PointF a, PointF b, Color color, int thickness) {
  if (c.data == nullptr || c.width <= 0 || c.height <= 0) return;
  if (!std::isfinite(a.x) || !std::isfinite(a.y) || !std::isfinite(b.x) || !std::isfinite(b.y))
    return;
  if (!clip(&a, &b, static_cast<float>(c.width - 1), static_cast<float>(c.height - 1))) return;
  const int r = std::max(thickness, 1) / 2;
  const float dx = b.x - a.x, dy = b.y - a.y;
  const int steps =
      std::max(1, static_cast<int>(std::ceil(std::max(std::fabs(dx), std::fabs(dy)))));
  for (int i = 0; i <= steps; ++i) {
    const int x = static_cast<int>(std::lround(a.x + dx * i / steps));
    const int y = static_cast<int>(std::lround(a.y + dy * i / steps));
    if (r == 0) {
      put(c, x, y, color);
    } else {
      fill_rect(c, x - r, y - r, x + r, y + r, color);
    }
  }
}

void draw_rect(const Canvas& c, float x1, float y1, float x2, float y2, Color color,
               int thickness) {
  draw_polyline(c, {{x1, y1}, {x2, y1}, {x2, y2}, {x1, y2}}, true, color, thickness);
}

void draw_polyline(const Canvas& c, const std::vector<PointF>& pts, bool closed, Color color,
                   int thickness) {
  for (size_t i = 1; i < pts.size(); ++i) draw_line(c, pts[i - 1], pts[i], color, thickness);
  if (closed && pts.size() > 2) draw_line(c, pts.back(), pts.front(), color, thickness);
}

int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : static_cast<int>(text.size()) * 6 * scale - scale;
}

void draw_text(const Canvas& c, int x, int y, const std::string& text, Color color, int scale,
               const Color* background) {
  scale = std::max(scale, 1);
  if (background) {
    fill_rect(c, x - scale, y - scale, x + text_width(text, scale) + scale - 1,
              y + text_height(scale) + scale - 1, *background);
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const auto& rows = glyph(text[i]);
    const int gx = x + static_cast<int>(i) * 6 * scale;
    for (int row = 0; row < 7; ++row) {
      for (int col = 0; col < 5; ++col) {
        if (!(rows[row] & (0x10 >> col))) continue;
        fill_rect(c, gx + col * scale, y + row * scale, gx + col * scale + scale - 1,
                  y + row * scale + scale - 1, color);
      }
    }
  }
}

Color id_color(int64_t id) {
  // Golden-ratio hue steps keep neighbouring ids apart; full saturation, bright value.
  const double h = std::fmod(static_cast<double>(id < 0 ? 0 : id) * 0.618033988749895, 1.0) * 6;
  const int sector = static_cast<int>(h);
  const double f = h - sector;
  const auto v = [](double x) { return static_cast<uint8_t>(std::lround(55 + 200 * x)); };
  switch (sector) {
    case 0:
      return {v(0), v(f), v(1)};
    case 1:
      return {v(0), v(1), v(1 - f)};
    case 2:
      return {v(f), v(1), v(0)};
    case 3:
      return {v(1), v(1 - f), v(0)};
    case 4:
      return {v(1), v(0), v(f)};
    default:
      return {v(1 - f), v(0), v(1)};
  }
}

}  // namespace vas
