#include "select/jpeg.h"

#include <turbojpeg.h>

#include <algorithm>
#include <string>

namespace vas {
namespace {

uint8_t clamp8(int v) { return static_cast<uint8_t>(std::clamp(v, 0, 255)); }

// BT.601 limited-range YUV to BGR in 16.16 fixed point.
void yuv_to_bgr(int y, int u, int v, uint8_t* bgr) {
  const int c = 76309 * std::max(y - 16, 0);
  const int d = u - 128, e = v - 128;
  bgr[2] = clamp8((c + 104597 * e + 32768) >> 16);
  bgr[1] = clamp8((c - 25675 * d - 53279 * e + 32768) >> 16);
  bgr[0] = clamp8((c + 132201 * d + 32768) >> 16);
}

}  // namespace

void copy_crop_bgr(const ImageView& img, const Rect& rect, Image* out) {
  out->format = PixelFormat::kBGR24;
  out->width = rect.width();
  out->height = rect.height();
  out->data.resize(static_cast<size_t>(out->width) * out->height * 3);
  copy_crop_bgr(img, rect, out->data.data(), out->stride());
}

void copy_crop_bgr(const ImageView& img, const Rect& rect, uint8_t* out, int out_stride) {
  const int w = rect.width(), h = rect.height();
  for (int y = 0; y < h; ++y) {
    const int sy = rect.y0 + y;
    const uint8_t* row = img.planes[0] + static_cast<size_t>(sy) * img.strides[0];
    uint8_t* dst = out + static_cast<size_t>(y) * out_stride;
    switch (img.format) {
      case PixelFormat::kBGR24:
        std::copy(row + 3 * rect.x0, row + 3 * (rect.x0 + w), dst);
        break;
      case PixelFormat::kRGB24:
        for (int x = 0; x < w; ++x) {
          const uint8_t* p = row + 3 * (rect.x0 + x);
          dst[3 * x] = p[2];
          dst[3 * x + 1] = p[1];
          dst[3 * x + 2] = p[0];
        }
        break;
      case PixelFormat::kGRAY8:
        for (int x = 0; x < w; ++x) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[rect.x0 + x];
        break;
      case PixelFormat::kNV12:
      case PixelFormat::kNV21:
      case PixelFormat::kI420: {
        const int cy = sy / 2;
        for (int x = 0; x < w; ++x) {
          const int sx = rect.x0 + x, cx = sx / 2;
          int u, v;
          if (img.format == PixelFormat::kI420) {
            u = img.planes[1][static_cast<size_t>(cy) * img.strides[1] + cx];
            v = img.planes[2][static_cast<size_t>(cy) * img.strides[2] + cx];
          } else {
            const uint8_t* uv = img.planes[1] + static_cast<size_t>(cy) * img.strides[1] + 2 * cx;
            u = img.format == PixelFormat::kNV12 ? uv[0] : uv[1];
            v = img.format == PixelFormat::kNV12 ? uv[1] : uv[0];
          }
          yuv_to_bgr(row[sx], u, v, dst + 3 * x);
        }
        break;
      }
    }
  }
}

JpegEncoder::~JpegEncoder() {
  if (handle_) tjDestroy(static_cast<tjhandle>(handle_));
}

Status JpegEncoder::encode(const ImageView& bgr, int quality, std::vector<uint8_t>* out) {
  if (bgr.format != PixelFormat::kBGR24 || bgr.width <= 0 || bgr.height <= 0 ||
      bgr.planes[0] == nullptr || bgr.strides[0] < bgr.width * 3)
    return invalid_argument("jpeg: crop must be a non-empty BGR24 image");
  if (quality < 1 || quality > 100)
    return invalid_argument("jpeg: quality " + std::to_string(quality) + " is outside 1..100");
  if (!handle_) {
    handle_ = tjInitCompress();
    if (!handle_)
      return runtime_error(std::string("jpeg: tjInitCompress failed: ") + tjGetErrorStr2(nullptr));
  }
  unsigned char* buf = nullptr;
  unsigned long size = 0;  // NOLINT(runtime/int): TurboJPEG's type
  const int rc =
      tjCompress2(static_cast<tjhandle>(handle_), bgr.planes[0], bgr.width, bgr.strides[0],
                  bgr.height, TJPF_BGR, &buf, &size, TJSAMP_420, quality, TJFLAG_FASTDCT);
  if (rc != 0) {
    const std::string why = tjGetErrorStr2(static_cast<tjhandle>(handle_));
    tjFree(buf);
    return runtime_error("jpeg: encoding a " + std::to_string(bgr.width) + "x" +
                         std::to_string(bgr.height) + " crop failed: " + why);
  }
  out->assign(buf, buf + size);
  tjFree(buf);
  return Status::ok();
}

}  // namespace vas
