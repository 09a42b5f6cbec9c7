// Zone membership: which zones each object's anchor point lies in. The business rules build on
// this. Stateless; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "core/detection.h"
#include "core/geometry.h"

namespace vas {

struct Zone {
  std::string id;
  std::vector<Point> polygon;  // validated with validate_polygon()
  Anchor anchor = Anchor::kBottomCenter;
};

// out[i] lists the indices into `zones` whose polygon holds objects[i]'s anchor point. Reuses
// out's storage.
void assign_zones(const std::vector<TrackedObject>& objects, const std::vector<Zone>& zones,
                  std::vector<std::vector<int>>* out);

}  // namespace vas
