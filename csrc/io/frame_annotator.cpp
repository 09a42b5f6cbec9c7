#include "io/frame_annotator.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace vas {
namespace {

constexpr Color kLineColor{0, 255, 255};  // yellow
constexpr Color kZoneColor{255, 128, 0};  // blue-ish
constexpr Color kText{255, 255, 255};
constexpr Color kTextBack{0, 0, 0};

// A label position in pixels: rule geometry may lie far outside the frame (any finite value
// is a valid rule), and casting such a float to int is undefined; text there is clipped anyway.
int px(float v) {
  if (!std::isfinite(v)) return -100000;
  return static_cast<int>(std::clamp(v, -100000.0f, 100000.0f));
}

}  // namespace

void FrameAnnotator::draw(const Canvas& c, const std::vector<AnnotatedObject>& objects,
                          const AnnotationOverlay& overlay, const std::vector<std::string>& hud) {
  const int scale = c.height >= 480 ? 2 : 1;
  for (const auto& z : overlay.zones) {
    draw_polyline(c, z.polygon, true, kZoneColor, 2);
    if (!z.polygon.empty()) {
      draw_text(c, px(z.polygon[0].x) + 4, px(z.polygon[0].y) + 4, z.id, kZoneColor, scale,
                &kTextBack);
    }
  }
  for (const auto& l : overlay.lines) {
    draw_line(c, l.a, l.b, kLineColor, 3);
    draw_text(c, px(l.a.x) + 4, px(l.a.y) - text_height(scale) - 4, l.id, kLineColor, scale,
              &kTextBack);
  }

  std::set<int64_t> live;
  for (const auto& o : objects) {
    live.insert(o.track_id);
    auto& trail = trails_[o.track_id];
    trail.push_back({(o.box[0] + o.box[2]) / 2, o.box[3]});  // bottom centre: where it walks
    if (static_cast<int>(trail.size()) > trail_frames_)
      trail.erase(trail.begin(), trail.end() - trail_frames_);
  }
  for (auto it = trails_.begin(); it != trails_.end();) {
    it = live.count(it->first) ? std::next(it) : trails_.erase(it);
  }
  for (const auto& o : objects) {
    const Color col = id_color(o.track_id);
    draw_polyline(c, trails_[o.track_id], false, col, 2);
    draw_rect(c, o.box[0], o.box[1], o.box[2], o.box[3], col, 2);
    const std::string label = "#" + std::to_string(o.track_id) + " " + o.label;
    draw_text(c, px(o.box[0]), px(o.box[1]) - text_height(scale) - 3, label, col, scale,
              &kTextBack);
  }
  int y = 6;
  for (const auto& line : hud) {
    draw_text(c, 6, y, line, kText, scale, &kTextBack);
    y += text_height(scale) + 3 * scale;
  }
}

}  // namespace vas
