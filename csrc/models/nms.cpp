#include "models/nms.h"

#include <algorithm>

namespace vas {

void nms(std::vector<Detection>* dets, float iou_threshold, bool class_aware, size_t max_keep) {
  auto& d = *dets;
  // Stable so equal scores keep decoder order, which makes results deterministic.
  std::stable_sort(d.begin(), d.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  size_t kept = 0;
  for (size_t i = 0; i < d.size() && kept < max_keep; ++i) {
    bool suppressed = false;
    for (size_t k = 0; k < kept && !suppressed; ++k) {
      if (class_aware && d[k].class_id != d[i].class_id) continue;
      suppressed = iou(d[k], d[i]) > iou_threshold;
    }
    if (!suppressed) d[kept++] = d[i];
  }
  d.resize(kept);
}

}  // namespace vas
