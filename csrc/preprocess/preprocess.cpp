#include "preprocess/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace vas {
namespace {

inline uint8_t clamp_u8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// BT.601 limited-range YUV -> RGB in 20-bit fixed point, the coefficients OpenCV uses.
inline void yuv_to_rgb(int y, int u, int v, uint8_t rgb[3]) {
  constexpr int kShift = 20, kCY = 1220542, kCUB = 2116026, kCUG = -409993, kCVG = -852492,
                kCVR = 1673527;
  const int yy = std::max(0, y - 16) * kCY;
  const int uu = u - 128, vv = v - 128;
  const int round = 1 << (kShift - 1);
  rgb[0] = clamp_u8((yy + kCVR * vv + round) >> kShift);
  rgb[1] = clamp_u8((yy + kCVG * vv + kCUG * uu + round) >> kShift);
  rgb[2] = clamp_u8((yy + kCUB * uu + round) >> kShift);
}

bool same_spec(const PreprocessSpec& a, const PreprocessSpec& b) {
  return a.width == b.width && a.height == b.height && a.mode == b.mode;
}

}  // namespace

void load_rgb(const ImageView& img, int x, int y, uint8_t rgb[3]) {
  const uint8_t* row = img.planes[0] + static_cast<ptrdiff_t>(y) * img.strides[0];
  switch (img.format) {
    case PixelFormat::kBGR24:
      rgb[0] = row[3 * x + 2];
      rgb[1] = row[3 * x + 1];
      rgb[2] = row[3 * x];
      return;
    case PixelFormat::kRGB24:
      rgb[0] = row[3 * x];
      rgb[1] = row[3 * x + 1];
      rgb[2] = row[3 * x + 2];
      return;
    case PixelFormat::kGRAY8:
      rgb[0] = rgb[1] = rgb[2] = row[x];
      return;
    case PixelFormat::kNV12:
    case PixelFormat::kNV21: {
      const uint8_t* uv = img.planes[1] + static_cast<ptrdiff_t>(y / 2) * img.strides[1] + (x & ~1);
      const bool nv12 = img.format == PixelFormat::kNV12;
      yuv_to_rgb(row[x], nv12 ? uv[0] : uv[1], nv12 ? uv[1] : uv[0], rgb);
      return;
    }
    case PixelFormat::kI420: {
      const uint8_t* u = img.planes[1] + static_cast<ptrdiff_t>(y / 2) * img.strides[1];
      const uint8_t* v = img.planes[2] + static_cast<ptrdiff_t>(y / 2) * img.strides[2];
      yuv_to_rgb(row[x], u[x / 2], v[x / 2], rgb);
      return;
    }
  }
  rgb[0] = rgb[1] = rgb[2] = 0;
}

void Preprocessor::build_tables(int src_w, int src_h, const PreprocessSpec& spec) {
  if (spec.mode == ResizeMode::kLetterbox) {
    const float s =
        std::min(static_cast<float>(spec.width) / src_w, static_cast<float>(spec.height) / src_h);
    content_w_ = std::max(1, std::min(spec.width, static_cast<int>(std::lround(src_w * s))));
    content_h_ = std::max(1, std::min(spec.height, static_cast<int>(std::lround(src_h * s))));
    content_x0_ = (spec.width - content_w_) / 2;
    content_y0_ = (spec.height - content_h_) / 2;
  } else {
    content_w_ = spec.width;
    content_h_ = spec.height;
    content_x0_ = content_y0_ = 0;
  }
  tf_.scale_x = static_cast<float>(content_w_) / src_w;
  tf_.scale_y = static_cast<float>(content_h_) / src_h;
  tf_.offset_x = static_cast<float>(content_x0_);
  tf_.offset_y = static_cast<float>(content_y0_);

  // Half-pixel-centre sampling, clamped at the edges (cv2.INTER_LINEAR semantics).
  auto make = [](int src, int dst, std::vector<Tap>* taps) {
    taps->resize(dst);
    const double ratio = static_cast<double>(src) / dst;
    for (int d = 0; d < dst; ++d) {
      double s = (d + 0.5) * ratio - 0.5;
      if (s < 0) s = 0;
      int i0 = static_cast<int>(std::floor(s));
      float w1 = static_cast<float>(s - i0);
      if (i0 >= src - 1) {
        i0 = src - 1;
        w1 = 0;
      }
      (*taps)[d] = {i0, std::min(i0 + 1, src - 1), w1};
    }
  };
  make(src_w, content_w_, &xtaps_);
  make(src_h, content_h_, &ytaps_);
  cached_src_w_ = src_w;
  cached_src_h_ = src_h;
  cached_spec_ = spec;
}

Status Preprocessor::run(const ImageView& src, const PreprocessSpec& spec, float* dst,
                         BoxTransform* tf) {
  VAS_RETURN_IF_ERROR(src.validate());
  if (dst == nullptr) return invalid_argument("preprocess: output tensor is NULL");
  if (spec.width <= 0 || spec.height <= 0) {
    return invalid_argument("preprocess: network input size must be positive");
  }
  if (src.width != cached_src_w_ || src.height != cached_src_h_ || !same_spec(spec, cached_spec_)) {
    build_tables(src.width, src.height, spec);
  }
  const int W = spec.width, H = spec.height;
  const size_t plane = static_cast<size_t>(W) * H;
  // Per-channel affine: value = pixel * a[c] + b[c], in network channel order.
  float a[3], b[3];
  for (int c = 0; c < 3; ++c) {
    a[c] = spec.scale / spec.std[c];
    b[c] = -spec.mean[c] / spec.std[c];
  }
  const int order[3] = {spec.color == ColorOrder::kRGB ? 0 : 2, 1,
                        spec.color == ColorOrder::kRGB ? 2 : 0};
  float* out[3] = {dst, dst + plane, dst + 2 * plane};

  if (spec.mode == ResizeMode::kLetterbox) {
    for (int c = 0; c < 3; ++c) std::fill(out[c], out[c] + plane, spec.pad_value * a[c] + b[c]);
  }
  for (int dy = 0; dy < content_h_; ++dy) {
    const Tap ty = ytaps_[dy];
    const size_t row_off = static_cast<size_t>(dy + content_y0_) * W + content_x0_;
    for (int dx = 0; dx < content_w_; ++dx) {
      const Tap tx = xtaps_[dx];
      uint8_t p00[3], p01[3], p10[3], p11[3];
      load_rgb(src, tx.i0, ty.i0, p00);
      load_rgb(src, tx.i1, ty.i0, p01);
      load_rgb(src, tx.i0, ty.i1, p10);
      load_rgb(src, tx.i1, ty.i1, p11);
      for (int c = 0; c < 3; ++c) {
        const int s = order[c];
        const float top = p00[s] + (p01[s] - p00[s]) * tx.w1;
        const float bot = p10[s] + (p11[s] - p10[s]) * tx.w1;
        const float v = top + (bot - top) * ty.w1;
        out[c][row_off + dx] = v * a[c] + b[c];
      }
    }
  }
  if (tf) *tf = tf_;
  return Status::ok();
}

}  // namespace vas
