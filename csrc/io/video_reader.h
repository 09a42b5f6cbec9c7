// VideoReader: decodes the first video stream of a file or network URL into packed frames.
// FFmpeg stays behind the pimpl so that no FFmpeg type leaks out of csrc/io.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/frame.h"
#include "core/image.h"
#include "core/status.h"

namespace vas {

// `url` with "user:password@" hidden, so that messages and logs never carry camera credentials.
std::string redact_url(const std::string& url);
// The lower-case scheme of `url` ("rtsp" for rtsp://...), "" for a plain path.
std::string url_scheme(const std::string& url);

struct VideoReaderOptions {
  // BGR24, RGB24 or NV12. NV12 needs even frame sizes because its chroma is 2x2 subsampled.
  PixelFormat output_format = PixelFormat::kBGR24;
  // Network sources only (any URL with a scheme other than file:). A value <= 0 disables it.
  // open_timeout_ms bounds open() as a whole; read_timeout_ms bounds each wait for data, so a
  // frozen server turns into kTimeout instead of a read that blocks for FFmpeg's 30 s or more.
  int open_timeout_ms = 5000;
  int read_timeout_ms = 5000;
  // rtsp:// transport: TCP (the default) or, when false, UDP only. UDP loses packets and smears
  // frames on busy links, but some cameras only speak it.
  bool rtsp_tcp = true;
  // Network sources: how much of the stream open() may read to identify it (FFmpeg's
  // analyzeduration). 0 keeps FFmpeg's default (5 s at most); a few hundred ms is enough for
  // the H.264 of an RTSP camera and cuts the time to the first frame.
  int analyze_ms = 0;
  // Borrowed, may be null; must outlive the reader. Once another thread sets it to true, a
  // blocked open() or read() returns kCancelled within about 100 ms (FFmpeg polls the flag at
  // least that often while it waits), and so does every later call while it stays true.
  const std::atomic<bool>* cancel = nullptr;
  // Drops (and counts in skipped_packets()) frames the decoder flags as damaged: concealed
  // errors or a corrupt bitstream. Codecs that conceal silently still pass their frames.
  bool drop_corrupt_frames = true;
  // Decoder threads; 0 lets FFmpeg pick. More than one adds a few frames of decode latency.
  int threads = 1;
};

struct VideoInfo {
  int width = 0;
  int height = 0;
  double fps = 0.0;          // 0 if the container gives no frame rate
  int64_t frame_count = -1;  // from the container header; -1 if unknown
  std::string codec;         // FFmpeg codec name, e.g. "h264" or "msmpeg4v3"
};

// What reading has found so far; against VideoInfo::frame_count it tells a complete stream
// from a truncated or damaged one.
struct VideoReaderStats {
  int64_t decoded = 0;  // frames returned by read()
  // Frames the decoder flagged (AV_FRAME_FLAG_CORRUPT or decode_error_flags: concealed errors);
  // dropped unless VideoReaderOptions::drop_corrupt_frames is off.
  int64_t damaged = 0;
  int64_t rejected_packets = 0;  // packets the decoder refused (no frame came of them)
  // Input bytes that never reached the decoder as good data: packets the decoder rejected or
  // the demuxer marked corrupt, and gaps the demuxer jumped over to find the next packet (files
  // only; garbage it resynchronised past).
  int64_t skipped_bytes = 0;
  // Frames returned after a decode error and before the next clean keyframe: they may show
  // concealment (smeared or grey blocks), so they carry Frame::damaged / ImageView::damaged.
  int64_t after_error = 0;
  // Files: frames short of the end the container declares (duration / frame interval) when
  // the stream stopped early; set with kEndOfStream.
  int64_t missing_frames = 0;
  // Files: the file is shorter than the size its container declares (AVI's RIFF chunks, MP4's
  // boxes), it ended in the middle of a packet, or (containers without such framing) its
  // video stopped short of the declared duration. Set once read() has returned kEndOfStream.
  bool truncated = false;
};

// Why a stream ended, from its final stats: "truncated" (truncated set), "damaged" (any packet
// rejected, frame flagged, byte skipped or frame missing) or "complete".
const char* end_reason(const VideoReaderStats& stats);

struct Frame {
  ImageView image;     // borrowed: valid until the next read() or until the reader is destroyed
  int64_t index = 0;   // 0-based count of frames returned so far
  int64_t pts_us = 0;  // presentation time from the stream start, or index / fps if unknown
  // The decoder flagged the frame, or it follows a decode error before the next clean
  // keyframe (image.damaged says the same).
  bool damaged = false;
};

// Reads one video stream frame by frame.
// Thread safety: not thread-safe; use one reader from one thread at a time. Distinct readers are
// independent and may run on different threads.
// Ownership: the reader owns its FFmpeg contexts and one output buffer that it reuses for every
// frame, so frames are borrowed views that the next read() overwrites.
class VideoReader {
 public:
  // Opens url (a path or a URL FFmpeg understands, e.g. rtsp://) and its decoder.
  // Errors: kNotFound for a missing file; kIoError for an empty, corrupt or unrecognisable
  // file, or one whose frame size cannot be read; kUnsupported for a container without a video
  // stream, a codec without a decoder or an unknown protocol; kTimeout for a silent network
  // source; kIoError otherwise.
  // The message names the url (credentials hidden) and FFmpeg's description of the cause.
  static Result<std::unique_ptr<VideoReader>> open(const std::string& url,
                                                   const VideoReaderOptions& options = {});

  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  // Describes the stream as opened. If the stream changes size mid-way, frames carry their own
  // size and info() keeps the opening values.
  const VideoInfo& info() const;

  // Decodes the next frame into *out. Returns OK, kEndOfStream once the stream is drained (again
  // on every later call), kTimeout when a network source sends nothing for read_timeout_ms (the
  // connection is then unusable: destroy the reader and open a new one), or another error naming
  // the url. A packet the decoder rejects is skipped and counted, not fatal; only a long run of
  // them without any frame fails the read.
  Status read(Frame* out);

  // Like read(Frame*), but converts the frame straight into a block from `pool` (rows padded to
  // 64 bytes), so the frame owns its pixels and may outlive later reads and the reader itself;
  // capture_us is the wall clock at decode and ts_us equals pts_us (sources re-base it);
  // view.damaged marks a flagged frame or one after a decode error, as Frame::damaged does.
  // kPoolExhausted (or another error of the pool) is returned as is and consumes nothing: the
  // decoded frame is kept, and the next call returns it with the same index.
  Status read(Pool& pool, VideoFrame* out);

  // Packets the decoder rejected, plus decoded frames dropped because the decoder flagged them
  // damaged (drop_corrupt_frames).
  int64_t skipped_packets() const;
  VideoReaderStats stats() const;

 private:
  class Impl;
  explicit VideoReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vas
