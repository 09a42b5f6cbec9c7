#include "business/zones.h"

namespace vas {

bool in_zone(const Zone& zone, const TrackedObject& object) {
  return point_in_polygon(anchor_point(object, zone.anchor), zone.polygon);
}

void assign_zones(const std::vector<TrackedObject>& objects, const std::vector<Zone>& zones,
                  std::vector<std::vector<int>>* out) {
  out->resize(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    std::vector<int>& in = (*out)[i];
    in.clear();
    for (size_t z = 0; z < zones.size(); ++z) {
      if (in_zone(zones[z], objects[i])) in.push_back(static_cast<int>(z));
    }
  }
}

}  // namespace vas
