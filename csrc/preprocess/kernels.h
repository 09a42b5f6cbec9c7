// Internal: the preprocessing plan shared by every implementation, and the band kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/image.h"
#include "preprocess/preprocess.h"

namespace vas::detail {

// Taps of one axis for any interpolation: output d reads src[idx[k]] * w[k] for k in
// [start[d], start[d+1]).
struct TapTable {
  std::vector<int32_t> start, idx;
  std::vector<float> w;
};

// Two-tap form (bilinear and nearest): out = src[i0] + (src[i1] - src[i0]) * w1.
struct Taps2 {
  std::vector<int32_t> i0, i1;
  std::vector<float> w1;
  bool single = false;  // every w1 is 0: only i0 matters
};

inline constexpr size_t kPermTableBytes = 3 * 64;

struct Plan {
  // Cache key.
  int src_w = -1, src_h = -1;
  PreprocessSpec spec;

  // Geometry: output W x H, content rectangle inside it.
  int W = 0, H = 0;
  int cx0 = 0, cy0 = 0, cw = 0, ch = 0;
  BoxTransform tf;
  bool two_tap = true;  // bilinear/nearest use Taps2; area uses TapTable
  Taps2 x2, y2;
  TapTable xt, yt;

  // Gather offsets (bytes) for the vector horizontal pass, per format:
  // off0/off1 into plane 0, coff0/coff1 into the chroma plane(s). x_vec_end: the number of
  // leading output columns whose 4-byte gathers stay inside the source row.
  PixelFormat format = PixelFormat::kBGR24;
  std::vector<int32_t> off0, off1, coff0, coff1;
  int x_vec_end = 0;

  // Byte-permute tables for the AVX-512 VBMI pass, per group of 8 output columns: the start
  // of its 128-byte window in plane 0 and in the chroma plane(s), and kPermTableBytes of
  // indices into the window (3 rows of 16: tap 0 of the 8 columns, then tap 1). Rows are the
  // 3 bytes of a packed pixel, or Y, U, V. perm_groups is 0 when some group's bytes span more
  // than a window (strong down-scaling); the gathers then do the work.
  int perm_groups = 0;
  std::vector<uint8_t> perm_idx;
  std::vector<int32_t> perm_base0, perm_base1;
  int row_bytes0 = 0, row_bytes1 = 0;  // bytes of a row of plane 0 / of a chroma plane

  // Colour and normalisation: output channel c reads source RGB channel sel[c];
  // value = pixel * a[c] + b[c]; pad[c] is the normalised pad value.
  int sel[3] = {0, 1, 2};
  float a[3] = {1, 1, 1}, b[3] = {0, 0, 0}, pad[3] = {0, 0, 0};
  float inv_qscale = 1.0f;
  // Output element strides for (channel, row, column).
  size_t cstride = 0, ystride = 0, xstride = 0;

  // Scratch floats per band and the bands' buffers (sized once per plan).
  size_t scratch_floats = 0;
  std::vector<std::vector<float>> scratch;
};

// Builds geometry, taps and output strides for a validated (source size, spec).
void build_plan(int src_w, int src_h, PixelFormat format, const PreprocessSpec& spec, Plan* p);

// Writes output rows [y_begin, y_end) of `dst` from `src` (already cropped to the ROI).
// `scratch` holds plan.scratch_floats floats.
void run_rows_reference(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end);
void run_rows_portable(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                       float* scratch);
// Only valid when avx2_supported() / avx512_supported(); on other builds they run the
// portable path.
void run_rows_avx2(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                   float* scratch);
void run_rows_avx512(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                     float* scratch);
bool avx2_supported();
bool avx512_supported();  // AVX2 + FMA + AVX-512 F, BW, VL and VBMI
// AArch64 NEON horizontal pass for BGR/RGB and NV12 (other formats run the portable pass);
// only valid when neon_supported(), true on every AArch64 build. Elsewhere it runs the
// portable path.
void run_rows_neon(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                   float* scratch);
bool neon_supported();

// IEEE half from float, round to nearest even (portable; F16C is not assumed).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

}  // namespace vas::detail
