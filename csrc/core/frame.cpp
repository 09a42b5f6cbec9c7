#include "core/frame.h"

#include <chrono>
#include <cstring>
#include <utility>

namespace vas {

int64_t wall_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

VideoFrame VideoFrame::from_pooled(PooledImage image) {
  VideoFrame f;
  f.view = image.view;
  f.buffer = std::move(image.buffer);
  return f;
}

Result<VideoFrame> VideoFrame::wrap_external(const ImageView& view, std::function<void()> release) {
  VAS_RETURN_IF_ERROR(view.validate().with_context("video frame"));
  if (!release) {
    return invalid_argument(
        "video frame: wrap_external() needs a release function (use "
        "copy_of() for memory the frame cannot keep)");
  }
  VideoFrame f;
  f.view = view;
  // The pointer only makes `external` non-null; the deleter ignores it and calls the release.
  f.external = std::shared_ptr<void>(const_cast<uint8_t*>(view.planes[0]),
                                     [release = std::move(release)](void*) { release(); });
  return f;
}

Result<VideoFrame> VideoFrame::copy_of(Pool& pool, const ImageView& view, int row_align) {
  VAS_RETURN_IF_ERROR(view.validate().with_context("video frame"));
  Result<PooledImage> image =
      PooledImage::allocate(pool, view.format, view.width, view.height, row_align);
  if (!image.is_ok()) return image.status();
  PooledImage& dst = image.value();
  for (int p = 0; p < plane_count(view.format); ++p) {
    const size_t row = static_cast<size_t>(plane_row_bytes(view.format, p, view.width));
    const int rows = plane_rows(view.format, p, view.height);
    for (int y = 0; y < rows; ++y) {
      std::memcpy(dst.plane(p) + static_cast<size_t>(y) * dst.view.strides[p],
                  view.planes[p] + static_cast<size_t>(y) * view.strides[p], row);
    }
  }
  return from_pooled(std::move(image).value());
}

}  // namespace vas
