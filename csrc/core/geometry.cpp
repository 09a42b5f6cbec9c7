#include "core/geometry.h"

#include <algorithm>
#include <cmath>

namespace vas {
namespace {

double cross(const Point& o, const Point& a, const Point& b) {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

int sign(double v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); }

bool on_segment(const Point& a, const Point& b, const Point& p) {
  return std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x) && std::min(a.y, b.y) <= p.y &&
         p.y <= std::max(a.y, b.y);
}

}  // namespace

Point anchor_point(const TrackedObject& obj, Anchor anchor) {
  const double cx = 0.5 * (static_cast<double>(obj.x1) + obj.x2);
  switch (anchor) {
    case Anchor::kCenter:
      return {cx, 0.5 * (static_cast<double>(obj.y1) + obj.y2)};
    case Anchor::kTopCenter:
      return {cx, obj.y1};
    case Anchor::kBottomCenter:
      break;
  }
  return {cx, obj.y2};
}

bool parse_anchor(const std::string& name, Anchor* out) {
  if (name == "bottom_center") {
    *out = Anchor::kBottomCenter;
  } else if (name == "center") {
    *out = Anchor::kCenter;
  } else if (name == "top_center") {
    *out = Anchor::kTopCenter;
  } else {
    return false;
  }
  return true;
}

bool point_in_polygon(const Point& p, const std::vector<Point>& poly) {
  const size_t n = poly.size();
  if (n < 3) return false;
  bool inside = false;
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    const Point& a = poly[i];
    const Point& b = poly[j];
    if (cross(a, b, p) == 0 && on_segment(a, b, p)) return true;
    if ((a.y > p.y) != (b.y > p.y)) {
      const double x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
      if (p.x < x) inside = !inside;
    }
  }
  return inside;
}

bool segments_intersect(const Point& a, const Point& b, const Point& c, const Point& d) {
  const int d1 = sign(cross(c, d, a));
  const int d2 = sign(cross(c, d, b));
  const int d3 = sign(cross(a, b, c));
  const int d4 = sign(cross(a, b, d));
  if (d1 * d2 < 0 && d3 * d4 < 0) return true;
  return (d1 == 0 && on_segment(c, d, a)) || (d2 == 0 && on_segment(c, d, b)) ||
         (d3 == 0 && on_segment(a, b, c)) || (d4 == 0 && on_segment(a, b, d));
}

double signed_distance(const Point& p, const Point& a, const Point& b) {
  const double len = std::hypot(b.x - a.x, b.y - a.y);
  // With y pointing down, a negative cross product means p is on the left of a->b on screen.
  return -cross(a, b, p) / len;
}

double polygon_area(const std::vector<Point>& poly) {
  double s = 0;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    s += poly[j].x * poly[i].y - poly[i].x * poly[j].y;
  }
  return std::fabs(s) * 0.5;
}

Status validate_polygon(const std::vector<Point>& poly) {
  const size_t n = poly.size();
  if (n < 3) return invalid_config("needs at least 3 points, got " + std::to_string(n));
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(poly[i].x) || !std::isfinite(poly[i].y))
      return invalid_config("point " + std::to_string(i) + " is not finite");
    const Point& next = poly[(i + 1) % n];
    if (poly[i].x == next.x && poly[i].y == next.y)
      return invalid_config("points " + std::to_string(i) + " and " + std::to_string((i + 1) % n) +
                            " are the same (zero-length edge)");
  }
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const bool adjacent = j == i + 1 || (i == 0 && j == n - 1);
      if (adjacent) continue;
      if (segments_intersect(poly[i], poly[(i + 1) % n], poly[j], poly[(j + 1) % n]))
        return invalid_config("self-intersecting (edges " + std::to_string(i) + " and " +
                              std::to_string(j) + " cross)");
    }
  }
  if (polygon_area(poly) <= 0) return invalid_config("has zero area");
  return Status::ok();
}

}  // namespace vas
