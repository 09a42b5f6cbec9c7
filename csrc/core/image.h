// ImageView: a borrowed, strided view of a packed or planar 8-bit image.
// The view never owns memory; the caller keeps the planes alive while it is in use.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/pool.h"
#include "core/status.h"

namespace vas {

// Values equal the C header's VAS_PIXEL_FORMAT_* codes.
enum class PixelFormat : int {
  kBGR24 = 1,
  kRGB24 = 2,
  kGRAY8 = 3,
  kNV12 = 4,
  kNV21 = 5,
  kI420 = 6,
};

const char* pixel_format_name(PixelFormat format);
// Number of planes a format uses (1 for packed, 2 for NV12/NV21, 3 for I420).
int plane_count(PixelFormat format);

// Size limits, equal to the C header's VAS_IMAGE_MAX_DIMENSION and VAS_IMAGE_MAX_PLANE_BYTES:
// a validated view's row and offset arithmetic (y * stride + x * bpp) fits in int.
constexpr int kMaxImageDimension = 32768;
constexpr int64_t kMaxPlaneBytes = INT32_MAX;

struct ImageView {
  PixelFormat format = PixelFormat::kBGR24;
  int width = 0;
  int height = 0;
  const uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};  // bytes per row of each plane
  // The decoder flagged these pixels, or they follow a decode error before the next clean
  // keyframe (io/video_reader.h): they may show concealment, so consumers that pick frames
  // for their looks (best shots) skip them. Views of copies and crops start out false.
  bool damaged = false;

  // Checks sizes (1..kMaxImageDimension), strides (a row at least, stride * rows at most
  // kMaxPlaneBytes), plane pointers and chroma alignment; the message names the field.
  Status validate() const;

  static ImageView packed(PixelFormat format, int width, int height, const uint8_t* data,
                          int stride);
};

// Bytes in one row of plane `plane` of a `width`-pixel image (0 for a plane the format lacks).
int plane_row_bytes(PixelFormat format, int plane, int width);
// Rows in plane `plane` of a `height`-row image.
int plane_rows(PixelFormat format, int plane, int height);

// An image whose planes live in one pool block; `view` borrows from `buffer`, which returns to
// its pool when the last copy of the PooledImage goes. Copies share the pixels.
struct PooledImage {
  ImageView view;
  PoolBuffer buffer;

  // Acquires a block for a format/size with every row padded to `row_align` bytes (a power of
  // two). Errors: invalid size or format (kInvalidArgument), Pool::acquire()'s errors.
  static Result<PooledImage> allocate(Pool& pool, PixelFormat format, int width, int height,
                                      int row_align = 64);
  uint8_t* plane(int p) const { return const_cast<uint8_t*>(view.planes[p]); }
};

// Owning, tightly packed 3-channel 8-bit image (used by decoders and tests).
struct Image {
  PixelFormat format = PixelFormat::kBGR24;
  int width = 0;
  int height = 0;
  std::vector<uint8_t> data;

  int stride() const { return width * 3; }
  ImageView view() const { return ImageView::packed(format, width, height, data.data(), stride()); }
};

}  // namespace vas
