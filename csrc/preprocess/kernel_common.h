// Internal to the preprocessing kernels: colour constants, source-row access and the scalar
// horizontal passes shared by the portable and the x86 SIMD paths.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "preprocess/kernels.h"

#define VAS_INLINE inline __attribute__((always_inline))

namespace vas::detail::kern {

// ---- colour -----------------------------------------------------------------------------

// BT.601 limited range, 20-bit fixed point: the same integers as load_rgb() and OpenCV.
inline constexpr int kShift = 20, kCY = 1220542, kCUB = 2116026, kCUG = -409993, kCVG = -852492,
                     kCVR = 1673527, kRound = 1 << (kShift - 1);

VAS_INLINE int clamp255(int v) { return v < 0 ? 0 : (v > 255 ? 255 : v); }

VAS_INLINE void yuv_rgb(int y, int u, int v, float rgb[3]) {
  const int yy = std::max(0, y - 16) * kCY;
  const int uu = u - 128, vv = v - 128;
  rgb[0] = static_cast<float>(clamp255((yy + kCVR * vv + kRound) >> kShift));
  rgb[1] = static_cast<float>(clamp255((yy + kCVG * vv + kCUG * uu + kRound) >> kShift));
  rgb[2] = static_cast<float>(clamp255((yy + kCUB * uu + kRound) >> kShift));
}

// Source rows for one source row index.
struct Rows {
  const uint8_t* p0;  // packed / luma row
  const uint8_t* p1;  // chroma (NV: interleaved; I420: U)
  const uint8_t* p2;  // I420: V
};

VAS_INLINE Rows rows_of(const ImageView& s, int sy) {
  Rows r{s.planes[0] + static_cast<ptrdiff_t>(sy) * s.strides[0], nullptr, nullptr};
  if (s.planes[1]) r.p1 = s.planes[1] + static_cast<ptrdiff_t>(sy / 2) * s.strides[1];
  if (s.planes[2]) r.p2 = s.planes[2] + static_cast<ptrdiff_t>(sy / 2) * s.strides[2];
  return r;
}

// RGB of source pixel x, as floats.
template <PixelFormat F>
VAS_INLINE void fetch(const Rows& r, int x, float rgb[3]) {
  if constexpr (F == PixelFormat::kBGR24) {
    rgb[0] = r.p0[3 * x + 2];
    rgb[1] = r.p0[3 * x + 1];
    rgb[2] = r.p0[3 * x];
  } else if constexpr (F == PixelFormat::kRGB24) {
    rgb[0] = r.p0[3 * x];
    rgb[1] = r.p0[3 * x + 1];
    rgb[2] = r.p0[3 * x + 2];
  } else if constexpr (F == PixelFormat::kGRAY8) {
    rgb[0] = rgb[1] = rgb[2] = r.p0[x];
  } else if constexpr (F == PixelFormat::kNV12) {
    const uint8_t* uv = r.p1 + (x & ~1);
    yuv_rgb(r.p0[x], uv[0], uv[1], rgb);
  } else if constexpr (F == PixelFormat::kNV21) {
    const uint8_t* uv = r.p1 + (x & ~1);
    yuv_rgb(r.p0[x], uv[1], uv[0], rgb);
  } else {
    yuv_rgb(r.p0[x], r.p1[x / 2], r.p2[x / 2], rgb);
  }
}

// Horizontal two-tap pass over output columns [xb, xe) into h (3 rows of p.cw floats, in
// output channel order).
template <PixelFormat F>
VAS_INLINE void hpass2_scalar(const Plan& p, const Rows& r, float* h, int xb, int xe) {
  float* h0 = h;
  float* h1 = h + p.cw;
  float* h2 = h + 2 * p.cw;
  const int s0 = p.sel[0], s1 = p.sel[1], s2 = p.sel[2];
  for (int x = xb; x < xe; ++x) {
    float a[3], b[3];
    fetch<F>(r, p.x2.i0[x], a);
    if (!p.x2.single) {
      fetch<F>(r, p.x2.i1[x], b);
      const float w = p.x2.w1[x];
      for (int c = 0; c < 3; ++c) a[c] += (b[c] - a[c]) * w;
    }
    h0[x] = a[s0];
    h1[x] = a[s1];
    h2[x] = a[s2];
  }
}

// Horizontal pass with a general tap table (area).
template <PixelFormat F>
VAS_INLINE void hpass_table(const Plan& p, const Rows& r, float* h) {
  const TapTable& t = p.xt;
  for (int x = 0; x < p.cw; ++x) {
    float acc[3] = {0, 0, 0};
    for (int k = t.start[x]; k < t.start[x + 1]; ++k) {
      float v[3];
      fetch<F>(r, t.idx[k], v);
      for (int c = 0; c < 3; ++c) acc[c] += v[c] * t.w[k];
    }
    for (int c = 0; c < 3; ++c) h[c * p.cw + x] = acc[p.sel[c]];
  }
}

}  // namespace vas::detail::kern
