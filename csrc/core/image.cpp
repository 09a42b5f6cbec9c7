#include "core/image.h"

#include <string>

namespace vas {

const char* pixel_format_name(PixelFormat format) {
  switch (format) {
    case PixelFormat::kBGR24:
      return "BGR24";
    case PixelFormat::kRGB24:
      return "RGB24";
    case PixelFormat::kGRAY8:
      return "GRAY8";
    case PixelFormat::kNV12:
      return "NV12";
    case PixelFormat::kNV21:
      return "NV21";
    case PixelFormat::kI420:
      return "I420";
  }
  return "unknown";
}

int plane_count(PixelFormat format) {
  switch (format) {
    case PixelFormat::kNV12:
    case PixelFormat::kNV21:
      return 2;
    case PixelFormat::kI420:
      return 3;
    default:
      return 1;
  }
}

ImageView ImageView::packed(PixelFormat format, int width, int height, const uint8_t* data,
                            int stride) {
  ImageView v;
  v.format = format;
  v.width = width;
  v.height = height;
  v.planes[0] = data;
  v.strides[0] = stride;
  return v;
}

Status ImageView::validate() const {
  int bpp = 0;
  switch (format) {
    case PixelFormat::kBGR24:
    case PixelFormat::kRGB24:
      bpp = 3;
      break;
    case PixelFormat::kGRAY8:
    case PixelFormat::kNV12:
    case PixelFormat::kNV21:
    case PixelFormat::kI420:
      bpp = 1;
      break;
    default:
      return invalid_argument("image: unknown pixel format " +
                              std::to_string(static_cast<int>(format)));
  }
  if (width <= 0 || height <= 0) {
    return invalid_argument("image: size must be positive, got " + std::to_string(width) + "x" +
                            std::to_string(height));
  }
  const bool yuv = plane_count(format) > 1;
  if (yuv && (width % 2 != 0 || height % 2 != 0)) {
    return invalid_argument(std::string("image: ") + pixel_format_name(format) +
                            " needs even width and height, got " + std::to_string(width) + "x" +
                            std::to_string(height));
  }
  const int n = plane_count(format);
  for (int p = 0; p < n; ++p) {
    if (planes[p] == nullptr) {
      return invalid_argument("image: plane " + std::to_string(p) + " is NULL");
    }
    // Row bytes of plane p: luma/packed rows, then interleaved UV (w bytes) or I420 U/V (w/2).
    const int row = p == 0 ? width * bpp : (format == PixelFormat::kI420 ? width / 2 : width);
    if (strides[p] < row) {
      return invalid_argument("image: stride of plane " + std::to_string(p) + " is " +
                              std::to_string(strides[p]) + ", smaller than its row of " +
                              std::to_string(row) + " bytes");
    }
  }
  return Status::ok();
}

}  // namespace vas
