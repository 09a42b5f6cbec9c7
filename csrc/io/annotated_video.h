// AnnotatedVideo: one channel's frames with its tracks burnt in (boxes, ids, short trails),
// its rule geometry (lines, zones) and a few lines of live text (counts), encoded to a file.
// Files are written with mode 0600 and their folder is created 0700: annotated video shows
// people, which is personal data.
// Thread safety: one thread at a time (the channel's worker). Ownership: frames passed to
// write() are borrowed; the writer draws on its own copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/draw.h"
#include "core/image.h"
#include "core/status.h"
#include "io/frame_annotator.h"
#include "io/video_writer.h"

namespace vas {

struct AnnotatedVideoOptions {
  double fps = 25.0;
  int trail_frames = 20;  // centre history drawn behind each track
  VideoWriterOptions writer;
};

class AnnotatedVideo {
 public:
  // Creates the folder (0700) and the file (0600) and opens the encoder for width x height
  // (odd sizes lose their last column or row, as the encoder needs even sizes).
  static Result<std::unique_ptr<AnnotatedVideo>> open(const std::string& path, int width,
                                                      int height,
                                                      const AnnotatedVideoOptions& options = {});
  ~AnnotatedVideo();

  // Draws and encodes one BGR24 frame. `hud` lines go top-left (e.g. "door in 3 out 1").
  Status write(const ImageView& frame, const std::vector<AnnotatedObject>& objects,
               const AnnotationOverlay& overlay, const std::vector<std::string>& hud);
  Status close();
  int64_t frames_written() const;

 private:
  AnnotatedVideo() = default;
  std::unique_ptr<VideoWriter> writer_;
  AnnotatedVideoOptions options_;
  int width_ = 0, height_ = 0;
  std::vector<uint8_t> scratch_;
  FrameAnnotator annotator_;
};

}  // namespace vas
