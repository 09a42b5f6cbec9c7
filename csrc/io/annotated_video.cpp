#include "io/annotated_video.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

namespace vas {
namespace {

constexpr Color kLineColor{0, 255, 255};  // yellow
constexpr Color kZoneColor{255, 128, 0};  // blue-ish
constexpr Color kText{255, 255, 255};
constexpr Color kTextBack{0, 0, 0};

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
  const int scale = height_ >= 480 ? 2 : 1;

  for (const auto& z : overlay.zones) {
    draw_polyline(c, z.polygon, true, kZoneColor, 2);
    if (!z.polygon.empty()) {
      draw_text(c, static_cast<int>(z.polygon[0].x) + 4, static_cast<int>(z.polygon[0].y) + 4, z.id,
                kZoneColor, scale, &kTextBack);
    }
  }
  for (const auto& l : overlay.lines) {
    draw_line(c, l.a, l.b, kLineColor, 3);
    draw_text(c, static_cast<int>(l.a.x) + 4, static_cast<int>(l.a.y) - text_height(scale) - 4,
              l.id, kLineColor, scale, &kTextBack);
  }

  std::set<int64_t> live;
  for (const auto& o : objects) {
    live.insert(o.track_id);
    auto& trail = trails_[o.track_id];
    trail.push_back({(o.box[0] + o.box[2]) / 2, o.box[3]});  // bottom centre: where it walks
    if (static_cast<int>(trail.size()) > options_.trail_frames)
      trail.erase(trail.begin(), trail.end() - options_.trail_frames);
  }
  for (auto it = trails_.begin(); it != trails_.end();) {
    it = live.count(it->first) ? std::next(it) : trails_.erase(it);
  }
  for (const auto& o : objects) {
    const Color col = id_color(o.track_id);
    draw_polyline(c, trails_[o.track_id], false, col, 2);
    draw_rect(c, o.box[0], o.box[1], o.box[2], o.box[3], col, 2);
    const std::string label = "#" + std::to_string(o.track_id) + " " + o.label;
    draw_text(c, static_cast<int>(o.box[0]), static_cast<int>(o.box[1]) - text_height(scale) - 3,
              label, col, scale, &kTextBack);
  }
  int y = 6;
  for (const auto& line : hud) {
    draw_text(c, 6, y, line, kText, scale, &kTextBack);
    y += text_height(scale) + 3 * scale;
  }
  return writer_->write(ImageView::packed(PixelFormat::kBGR24, width_, height_, scratch_.data(),
                                          static_cast<int>(row)));
}

Status AnnotatedVideo::close() { return writer_->close(); }

int64_t AnnotatedVideo::frames_written() const { return writer_->frames_written(); }

}  // namespace vas
