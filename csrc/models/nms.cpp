#include "models/nms.h"

#include <algorithm>

namespace vas {

void nms(std::vector<Detection>* dets, float iou_threshold, bool class_aware, size_t max_keep) {
  auto& d = *dets;
  // A total order (score, then position) keeps results deterministic without the temporary
  // buffer std::stable_sort would allocate on every frame.
  std::sort(d.begin(), d.end(), [](const Detection& a, const Detection& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.y1 != b.y1) return a.y1 < b.y1;
    if (a.x1 != b.x1) return a.x1 < b.x1;
    if (a.y2 != b.y2) return a.y2 < b.y2;
    if (a.x2 != b.x2) return a.x2 < b.x2;
    return a.class_id < b.class_id;
  });
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
