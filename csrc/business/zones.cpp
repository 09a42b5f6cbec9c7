#include "business/zones.h"

namespace vas {

void assign_zones(const std::vector<TrackedObject>& objects, const std::vector<Zone>& zones,
                  std::vector<std::vector<int>>* out) {
  out->resize(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    std::vector<int>& in = (*out)[i];
    in.clear();
    for (size_t z = 0; z < zones.size(); ++z) {
      if (point_in_polygon(anchor_point(objects[i], zones[z].anchor), zones[z].polygon))
        in.push_back(static_cast<int>(z));
    }
  }
}

}  // namespace vas
