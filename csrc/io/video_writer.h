// VideoWriter: encodes packed BGR/RGB frames into an mp4, mkv or avi file.
// FFmpeg stays behind the pimpl so that no FFmpeg type leaks out of csrc/io.
#pragma once

#include <memory>
#include <string>

#include "core/image.h"
#include "core/status.h"

namespace vas {

struct VideoWriterOptions {
  double fps = 25.0;
  // FFmpeg encoder name. "libx264" falls back to "mpeg4" when FFmpeg was built without it; any
  // other name must exist. Frames are always encoded as yuv420p, which every player accepts.
  std::string codec = "libx264";
  // Quality for encoders that have crf/preset options (libx264, libx265...). Encoders without
  // crf but with a quantizer scale (mpeg4) get an approximate qscale from crf instead.
  int crf = 23;
  std::string preset = "veryfast";
};

// Writes one video stream, frame by frame, at a constant frame rate.
// Sizes must be even, because yuv420p halves the chroma in both directions; odd sizes are
// rejected at open() rather than cropped silently. To write an odd-sized source, open with the
// even size and pass a view with width/height reduced by one (the stride stays the same).
// Thread safety: not thread-safe; use one writer from one thread at a time.
// Ownership: the writer owns its FFmpeg contexts and the output file; frames passed to write()
// are only borrowed for the duration of the call.
class VideoWriter {
 public:
  // Creates path (the container comes from its extension: .mp4, .mkv or .avi) and its encoder.
  // Errors: kInvalidArgument for bad sizes or options, kUnsupported for an unknown extension or
  // encoder, kNotFound / kIoError when the file cannot be created.
  static Result<std::unique_ptr<VideoWriter>> open(const std::string& path, int width, int height,
                                                   const VideoWriterOptions& options = {});

  ~VideoWriter();  // calls close() if the caller did not, ignoring its status
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Encodes one BGR24 or RGB24 frame of the opened size. Frame i gets timestamp i / fps.
  // Errors: kInvalidArgument naming what differs (format, size, stride), or after close().
  Status write(const ImageView& frame);

  // Flushes the encoder, writes the container trailer and closes the file. Calling it again
  // returns OK and does nothing.
  Status close();

  // Frames accepted by write() so far.
  int64_t frames_written() const;

 private:
  class Impl;
  explicit VideoWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vas
