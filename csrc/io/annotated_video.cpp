#include "io/annotated_video.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace vas {
namespace {

// The folder 0700 and an empty file 0600, before the encoder opens (and truncates) it, so the
// file never exists with wider permissions.
Status prepare_private_file(const std::string& path) {
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path() && !std::filesystem::exists(p.parent_path(), ec)) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
      return io_error("cannot create folder '" + p.parent_path().string() + "': " + ec.message());
    ::chmod(p.parent_path().c_str(), 0700);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create '" + path + "': " + std::strerror(errno));
  ::fchmod(fd, 0600);  // an existing file keeps its old mode otherwise
  ::close(fd);
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<AnnotatedVideo>> AnnotatedVideo::open(const std::string& path, int width,
                                                             int height,
                                                             const AnnotatedVideoOptions& options) {
  if (width < 2 || height < 2) {
    return invalid_argument("annotated video '" + path + "': frame size " + std::to_string(width) +
                            "x" + std::to_string(height) + " is too small");
  }
  if (options.trail_frames < 0) {
    return invalid_argument("annotated video '" + path + "': trail_frames must be >= 0");
  }
  VAS_RETURN_IF_ERROR(prepare_private_file(path));
  VideoWriterOptions wo = options.writer;
  wo.fps = options.fps > 0 ? options.fps : 25.0;
  auto writer = VideoWriter::open(path, width & ~1, height & ~1, wo);
  if (!writer.is_ok()) return writer.status();
  std::unique_ptr<AnnotatedVideo> out(new AnnotatedVideo());
  out->writer_ = std::move(writer).value();
  out->options_ = options;
  out->annotator_ = FrameAnnotator(options.trail_frames);
  out->width_ = width & ~1;
  out->height_ = height & ~1;
  out->scratch_.resize(static_cast<size_t>(out->width_) * out->height_ * 3);
  return out;
}

AnnotatedVideo::~AnnotatedVideo() = default;

Status AnnotatedVideo::write(const ImageView& frame, const std::vector<AnnotatedObject>& objects,
                             const AnnotationOverlay& overlay,
                             const std::vector<std::string>& hud) {
  if (frame.format != PixelFormat::kBGR24) {
    return unsupported(std::string("annotated video takes BGR24 frames, got ") +
                       pixel_format_name(frame.format));
  }
  if (frame.width < width_ || frame.height < height_ || frame.planes[0] == nullptr) {
    return invalid_argument("annotated video frame is " + std::to_string(frame.width) + "x" +
                            std::to_string(frame.height) + ", opened for " +
                            std::to_string(width_) + "x" + std::to_string(height_));
  }
  const size_t row = static_cast<size_t>(width_) * 3;
  for (int y = 0; y < height_; ++y) {
    std::memcpy(scratch_.data() + y * row,
                frame.planes[0] + static_cast<size_t>(y) * frame.strides[0], row);
  }
  const Canvas c{scratch_.data(), width_, height_, static_cast<int>(row)};
  annotator_.draw(c, objects, overlay, hud);
  return writer_->write(ImageView::packed(PixelFormat::kBGR24, width_, height_, scratch_.data(),
                                          static_cast<int>(row)));
}

Status AnnotatedVideo::close() { return writer_->close(); }

int64_t AnnotatedVideo::frames_written() const { return writer_->frames_written(); }

}  // namespace vas
