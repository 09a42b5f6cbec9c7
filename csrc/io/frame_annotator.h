// FrameAnnotator: burns one channel's tracks (boxes, ids, short trails), its rule geometry
// (lines, zones) and a few lines of text (counts) into a BGR24 image. It keeps the trails, so
// one instance follows one stream of frames. Shared by the annotated video file and the live
// view, which each draw on their own copy of the frame.
// Thread safety: one thread at a time. Ownership: the caller owns the canvas.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/draw.h"

namespace vas {

struct AnnotationOverlay {
  struct Line {
    std::string id;
    PointF a, b;
  };
  struct Zone {
    std::string id;
    std::vector<PointF> polygon;
  };
  std::vector<Line> lines;
  std::vector<Zone> zones;
};

struct AnnotatedObject {
  int64_t track_id = -1;
  std::string label;            // class name
  float box[4] = {0, 0, 0, 0};  // x1, y1, x2, y2 in frame pixels
};

class FrameAnnotator {
 public:
  explicit FrameAnnotator(int trail_frames = 20) : trail_frames_(trail_frames) {}

  // Draws on `c` in place. `hud` lines go top-left (e.g. "door in 3 out 1").
  void draw(const Canvas& c, const std::vector<AnnotatedObject>& objects,
            const AnnotationOverlay& overlay, const std::vector<std::string>& hud);

 private:
  int trail_frames_;
  std::map<int64_t, std::vector<PointF>> trails_;
};

}  // namespace vas
