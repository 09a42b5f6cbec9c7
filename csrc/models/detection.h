// Detection: one box in source-image pixel coordinates.
#pragma once

#include <vector>

namespace vas {

struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;
  int class_id = 0;
  int num_landmarks = 0;     // 0, or 5 for faces
  float landmarks[10] = {};  // x0, y0, x1, y1, ...
};

float iou(const Detection& a, const Detection& b);

// Greedy NMS in place: keeps the highest-scoring box of each overlapping group (IoU >
// iou_threshold). class_aware suppresses only boxes of the same class. Output is sorted by score,
// descending, truncated to max_keep.
void nms(std::vector<Detection>* dets, float iou_threshold, bool class_aware, size_t max_keep);

}  // namespace vas
