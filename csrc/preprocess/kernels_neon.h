// Internal to the preprocessing kernels: the AArch64 NEON horizontal pass for packed BGR/RGB
// and NV12. NEON has no gather, so each group of 4 output columns loads its taps' bytes into
// lanes one by one; the colour conversion (NV12: the same 20-bit fixed point as yuv_rgb), the
// x blend and the channel order then run 4 columns at a time. The operations and their order
// are those of hpass2_scalar (subtract, multiply, add; no fused multiply-add, as this file is
// built with -ffp-contract=off), so the output equals the portable path's bit for bit.
// The vertical pass is plain C++ that the compiler vectorises for NEON itself.
#pragma once

#include "preprocess/kernel_common.h"

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define VAS_NEON 1
#include <arm_neon.h>
#else
#define VAS_NEON 0
#endif

#if VAS_NEON
namespace vas::detail::kern {

// Channel k (0..2) of the 3-byte pixels at byte offsets off[0..3] of row, as floats.
VAS_INLINE void load_packed4(const uint8_t* row, const int32_t* off, float32x4_t out[3]) {
  for (int k = 0; k < 3; ++k) {
    uint32x4_t v = vdupq_n_u32(0);
    v = vsetq_lane_u32(row[off[0] + k], v, 0);
    v = vsetq_lane_u32(row[off[1] + k], v, 1);
    v = vsetq_lane_u32(row[off[2] + k], v, 2);
    v = vsetq_lane_u32(row[off[3] + k], v, 3);
    out[k] = vcvtq_f32_u32(v);
  }
}

VAS_INLINE int32x4_t load4(const uint8_t* base, const int32_t* off, int k) {
  int32x4_t v = vdupq_n_s32(0);
  v = vsetq_lane_s32(base[off[0] + k], v, 0);
  v = vsetq_lane_s32(base[off[1] + k], v, 1);
  v = vsetq_lane_s32(base[off[2] + k], v, 2);
  v = vsetq_lane_s32(base[off[3] + k], v, 3);
  return v;
}

VAS_INLINE float32x4_t fixed_to_float(int32x4_t acc) {
  const int32x4_t v = vshrq_n_s32(vaddq_s32(acc, vdupq_n_s32(kRound)), kShift);
  return vcvtq_f32_s32(vminq_s32(vmaxq_s32(v, vdupq_n_s32(0)), vdupq_n_s32(255)));
}

// RGB of 4 NV12 pixels: luma at yoff, interleaved U, V at coff (already x & ~1).
VAS_INLINE void load_nv12_4(const Rows& r, const int32_t* yoff, const int32_t* coff,
                            float32x4_t rgb[3]) {
  const int32x4_t y = load4(r.p0, yoff, 0);
  const int32x4_t u = vsubq_s32(load4(r.p1, coff, 0), vdupq_n_s32(128));
  const int32x4_t v = vsubq_s32(load4(r.p1, coff, 1), vdupq_n_s32(128));
  const int32x4_t yy = vmulq_n_s32(vmaxq_s32(vsubq_s32(y, vdupq_n_s32(16)), vdupq_n_s32(0)), kCY);
  rgb[0] = fixed_to_float(vaddq_s32(yy, vmulq_n_s32(v, kCVR)));
  rgb[1] = fixed_to_float(vaddq_s32(vaddq_s32(yy, vmulq_n_s32(v, kCVG)), vmulq_n_s32(u, kCUG)));
  rgb[2] = fixed_to_float(vaddq_s32(yy, vmulq_n_s32(u, kCUB)));
}

// Source RGB (as floats, in R, G, B order) of 4 columns' tap at byte offsets off / coff.
template <PixelFormat F>
VAS_INLINE void fetch4(const Rows& r, const int32_t* off, const int32_t* coff, float32x4_t rgb[3]) {
  if constexpr (F == PixelFormat::kNV12) {
    load_nv12_4(r, off, coff, rgb);
  } else {
    float32x4_t c[3];
    load_packed4(r.p0, off, c);
    const bool bgr = F == PixelFormat::kBGR24;
    rgb[0] = bgr ? c[2] : c[0];
    rgb[1] = c[1];
    rgb[2] = bgr ? c[0] : c[2];
  }
}

template <PixelFormat F>
inline constexpr bool kNeonFormat =
    F == PixelFormat::kBGR24 || F == PixelFormat::kRGB24 || F == PixelFormat::kNV12;

// Horizontal two-tap pass over the leading multiple of 4 output columns into h (3 rows of
// p.cw floats, output channel order). Returns the first column left to the scalar pass.
template <PixelFormat F>
VAS_INLINE int hpass_neon(const Plan& p, const Rows& r, float* h) {
  if constexpr (!kNeonFormat<F>) {
    (void)p, (void)r, (void)h;
    return 0;
  } else {
    const int n = p.cw & ~3;
    const int32_t* off0 = p.off0.data();
    const int32_t* off1 = p.off1.data();
    const int32_t* coff0 = F == PixelFormat::kNV12 ? p.coff0.data() : nullptr;
    const int32_t* coff1 = F == PixelFormat::kNV12 ? p.coff1.data() : nullptr;
    float* const out[3] = {h, h + p.cw, h + 2 * p.cw};
    for (int x = 0; x < n; x += 4) {
      float32x4_t a[3];
      fetch4<F>(r, off0 + x, coff0 ? coff0 + x : nullptr, a);
      if (!p.x2.single) {
        float32x4_t b[3];
        fetch4<F>(r, off1 + x, coff1 ? coff1 + x : nullptr, b);
        const float32x4_t w = vld1q_f32(p.x2.w1.data() + x);
        for (int c = 0; c < 3; ++c) a[c] = vaddq_f32(a[c], vmulq_f32(vsubq_f32(b[c], a[c]), w));
      }
      for (int c = 0; c < 3; ++c) vst1q_f32(out[c] + x, a[p.sel[c]]);
    }
    return n;
  }
}

}  // namespace vas::detail::kern
#endif
