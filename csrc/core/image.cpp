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

int plane_row_bytes(PixelFormat format, int plane, int width) {
  if (plane < 0 || plane >= plane_count(format)) return 0;
  switch (format) {
    case PixelFormat::kBGR24:
    case PixelFormat::kRGB24:
      return width * 3;
    case PixelFormat::kI420:
      return plane == 0 ? width : width / 2;
    default:
      return width;  // GRAY8, NV12/NV21 luma and interleaved chroma
  }
}

int plane_rows(PixelFormat format, int plane, int height) {
  if (plane < 0 || plane >= plane_count(format)) return 0;
  return plane == 0 ? height : height / 2;
}

Result<PooledImage> PooledImage::allocate(Pool& pool, PixelFormat format, int width, int height,
                                          int row_align) {
  if (row_align <= 0 || (row_align & (row_align - 1)) != 0) {
    return invalid_argument("pooled image: row_align " + std::to_string(row_align) +
                            " is not a power of two");
  }
  if (width <= 0 || height <= 0 || width > kMaxImageDimension || height > kMaxImageDimension) {
    return invalid_argument("pooled image: size " + std::to_string(width) + "x" +
                            std::to_string(height) + " is not within 1.." +
                            std::to_string(kMaxImageDimension) + " per side");
  }
  if (row_align > 4096) {
    return invalid_argument("pooled image: row_align " + std::to_string(row_align) +
                            " is over 4096");
  }
  ImageView v;
  v.format = format;
  v.width = width;
  v.height = height;
  // Validate the geometry with a placeholder pointer before touching the pool.
  static const uint8_t kProbe = 0;
  size_t offsets[3] = {0, 0, 0};
  size_t total = 0;
  for (int p = 0; p < plane_count(format); ++p) {
    const int row = plane_row_bytes(format, p, width);
    v.strides[p] = (row + row_align - 1) / row_align * row_align;
    v.planes[p] = &kProbe;
    offsets[p] = total;
    total += static_cast<size_t>(v.strides[p]) * static_cast<size_t>(plane_rows(format, p, height));
  }
  VAS_RETURN_IF_ERROR(v.validate().with_context("pooled image"));
  Result<PoolBuffer> buf = pool.acquire(total);
  if (!buf.is_ok()) return buf.status();
  PooledImage out;
  out.buffer = std::move(buf).value();
  for (int p = 0; p < plane_count(format); ++p) {
    v.planes[p] = out.buffer.as<uint8_t>() + offsets[p];
  }
  out.view = v;
  return out;
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
  // Bounding the size keeps every later row and offset computation inside int.
  if (width > kMaxImageDimension || height > kMaxImageDimension) {
    return invalid_argument("image: size " + std::to_string(width) + "x" + std::to_string(height) +
                            " exceeds the limit of " + std::to_string(kMaxImageDimension) +
                            " per side");
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
    const int64_t row =
        p == 0 ? int64_t{width} * bpp : (format == PixelFormat::kI420 ? width / 2 : int64_t{width});
    if (strides[p] < row) {
      return invalid_argument("image: stride of plane " + std::to_string(p) + " is " +
                              std::to_string(strides[p]) + ", smaller than its row of " +
                              std::to_string(row) + " bytes");
    }
    const int64_t bytes = int64_t{strides[p]} * plane_rows(format, p, height);
    if (bytes > kMaxPlaneBytes) {
      return invalid_argument("image: plane " + std::to_string(p) + " spans " +
                              std::to_string(bytes) + " bytes (stride " +
                              std::to_string(strides[p]) + "), over the limit of " +
                              std::to_string(kMaxPlaneBytes));
    }
  }
  return Status::ok();
}

}  // namespace vas
