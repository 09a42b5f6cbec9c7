// Drawing on packed BGR24 images: lines, rectangles, polylines, filled boxes and text in a
// built-in 5x7 bitmap font (digits, letters and the punctuation overlays need). Used to burn
// boxes, ids, trails, lines, zones and counts into annotated video; no OpenCV dependency.
// Thread safety: stateless functions; the caller owns the image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vas {

struct Color {
  uint8_t b = 0, g = 0, r = 0;
};

// A writable packed BGR24 image (a borrowed view).
struct Canvas {
  uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int stride = 0;  // bytes per row
};

struct PointF {
  float x = 0, y = 0;
};

// Every primitive clips to the canvas, so coordinates may lie outside it.
void draw_line(const Canvas& c, PointF a, PointF b, Color color, int thickness = 1);
void draw_rect(const Canvas& c, float x1, float y1, float x2, float y2, Color color,
               int thickness = 1);
void fill_rect(const Canvas& c, int x1, int y1, int x2, int y2, Color color);
void draw_polyline(const Canvas& c, const std::vector<PointF>& pts, bool closed, Color color,
                   int thickness = 1);

// Text at (x, y) = top-left, each glyph 5x7 pixels times `scale` with one column of spacing.
// Lower case prints as upper case; characters outside the font print as '?'. With a
// background, a filled box goes behind the text so it stays readable on any frame.
void draw_text(const Canvas& c, int x, int y, const std::string& text, Color color, int scale = 1,
               const Color* background = nullptr);
int text_width(const std::string& text, int scale = 1);
constexpr int text_height(int scale = 1) { return 7 * scale; }

// A distinct colour per id, stable across frames.
Color id_color(int64_t id);

}  // namespace vas
