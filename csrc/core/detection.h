// Detections and tracked objects: the plain data that flows from detectors into the
// analytics modules (track, select, associate, business), which depend only on core types.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace vas {

// One detected box in source-image pixels.
struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;
  int class_id = 0;
  int num_landmarks = 0;     // 0, or 5 for faces
  float landmarks[10] = {};  // x0, y0, x1, y1, ...
};

inline float iou(const Detection& a, const Detection& b) {
  const float ix = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float iy = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = ix * iy;
  const float uni = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

// Lifecycle of a track (see csrc/track).
enum class TrackState : int { kTentative = 0, kConfirmed = 1, kLost = 2, kRemoved = 3 };

// One object as a tracker reports it on one frame. Box in source-image pixels.
struct TrackedObject {
  int64_t track_id = -1;  // unique within a channel, never reused
  int class_id = 0;
  float score = 0;  // score of the matched detection (0 when only predicted)
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  TrackState state = TrackState::kTentative;
  int hits = 0;               // frames with a matched detection
  int age = 0;                // frames since the track started
  int time_since_update = 0;  // frames since the last matched detection
  int num_landmarks = 0;
  float landmarks[10] = {};
  int64_t parent_track_id = -1;  // set by association (e.g. the body a face belongs to)
};

}  // namespace vas
