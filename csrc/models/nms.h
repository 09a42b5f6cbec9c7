// Non-maximum suppression over detections.
#pragma once

#include <cstddef>
#include <vector>

#include "core/detection.h"

namespace vas {

// Greedy NMS in place: keeps the highest-scoring box of each overlapping group
// (IoU > iou_threshold). class_aware suppresses only boxes of the same class. Output is sorted by
// score, descending, truncated to max_keep.
void nms(std::vector<Detection>* dets, float iou_threshold, bool class_aware, size_t max_keep);

}  // namespace vas
