// Plane geometry for the analytics modules: points, polygons and line segments in source-image
// pixels. Stateless free functions; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "core/detection.h"
#include "core/status.h"

namespace vas {

struct Point {
  double x = 0, y = 0;
};

// Which point of a box stands for the object in zones and line crossing. Bottom centre is where
// a person touches the ground, which is what a floor-plan zone is drawn around.
enum class Anchor : int { kBottomCenter = 0, kCenter = 1, kTopCenter = 2 };

Point anchor_point(const TrackedObject& obj, Anchor anchor);
// Parses "bottom_center", "center" or "top_center".
bool parse_anchor(const std::string& name, Anchor* out);

// Even-odd rule. Points exactly on an edge count as inside.
bool point_in_polygon(const Point& p, const std::vector<Point>& polygon);

// True when segments ab and cd share at least one point (collinear overlap included).
bool segments_intersect(const Point& a, const Point& b, const Point& c, const Point& d);

// Signed distance of p from the infinite line through a and b: positive on the left of a->b as
// drawn on screen (image y axis pointing down), negative on the right. a != b.
double signed_distance(const Point& p, const Point& a, const Point& b);

// Absolute area by the shoelace formula.
double polygon_area(const std::vector<Point>& polygon);

// Checks that a polygon is usable as a zone: at least 3 finite vertices, no repeated
// consecutive vertex, non-zero area, no two non-adjacent edges touching. The message is a bare
// cause ("self-intersecting", ...); callers prefix the field name.
Status validate_polygon(const std::vector<Point>& polygon);

}  // namespace vas
