#include "preprocess/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "preprocess/kernels.h"

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
  return a.width == b.width && a.height == b.height && a.mode == b.mode && a.color == b.color &&
         a.scale == b.scale && std::equal(a.mean, a.mean + 3, b.mean) &&
         std::equal(a.std, a.std + 3, b.std) && a.pad_value == b.pad_value &&
         a.interp == b.interp && a.layout == b.layout && a.dtype == b.dtype &&
         a.quant_scale == b.quant_scale && a.zero_point == b.zero_point;
}

// Two-tap tables. Bilinear: half-pixel centres clamped at the edges (cv2.INTER_LINEAR).
// Nearest: floor(d * src / dst) (cv2.INTER_NEAREST).
void make_taps2(int src, int dst, Interp interp, detail::Taps2* t) {
  t->i0.resize(dst);
  t->i1.resize(dst);
  t->w1.resize(dst);
  // 1 / (dst / src), computed the way cv2.resize does, so the taps land on the same pixels
  // even where src / dst is an integer that the two formulas round differently.
  const double ratio = 1.0 / (static_cast<double>(dst) / src);
  bool single = true;
  for (int d = 0; d < dst; ++d) {
    int i0;
    float w1 = 0;
    if (interp == Interp::kNearest) {
      i0 = std::min(static_cast<int>(std::floor(d * ratio)), src - 1);
    } else {
      double s = (d + 0.5) * ratio - 0.5;
      if (s < 0) s = 0;
      i0 = static_cast<int>(std::floor(s));
      w1 = static_cast<float>(s - i0);
      if (i0 >= src - 1) {
        i0 = src - 1;
        w1 = 0;
      }
    }
    t->i0[d] = i0;
    t->i1[d] = std::min(i0 + 1, src - 1);
    t->w1[d] = w1;
    if (w1 != 0.0f) single = false;
  }
  t->single = single;
}

void taps2_to_table(const detail::Taps2& t, detail::TapTable* out) {
  const size_t n = t.i0.size();
  out->start.resize(n + 1);
  out->idx.resize(2 * n);
  out->w.resize(2 * n);
  for (size_t d = 0; d < n; ++d) {
    out->start[d] = static_cast<int32_t>(2 * d);
    out->idx[2 * d] = t.i0[d];
    out->w[2 * d] = 1.0f - t.w1[d];
    out->idx[2 * d + 1] = t.i1[d];
    out->w[2 * d + 1] = t.w1[d];
  }
  out->start[n] = static_cast<int32_t>(2 * n);
}

// Area (box) weights for down-scaling: output d averages source [d*s, (d+1)*s), partial
// pixels at both ends weighted by their overlap (cv2.INTER_AREA semantics).
void make_area(int src, int dst, detail::TapTable* t) {
  t->start.assign(1, 0);
  t->idx.clear();
  t->w.clear();
  const double scale = static_cast<double>(src) / dst;
  for (int d = 0; d < dst; ++d) {
    const double f1 = d * scale, f2 = f1 + scale;
    const double cell = std::min(scale, src - f1);
    const int s1 = static_cast<int>(std::ceil(f1));
    const int s2 = std::min(src, static_cast<int>(std::floor(f2)));
    auto add = [&](int i, double w) {
      t->idx.push_back(std::min(i, src - 1));
      t->w.push_back(static_cast<float>(w / cell));
    };
    if (s1 - f1 > 1e-3) add(s1 - 1, s1 - f1);
    for (int i = s1; i < s2; ++i) add(i, 1.0);
    if (f2 - s2 > 1e-3 && s2 < src) add(s2, std::min(std::min(f2 - s2, 1.0), cell));
    t->start.push_back(static_cast<int32_t>(t->idx.size()));
  }
}

// Bytes of an image row that 4-byte gathers at the offsets may touch, per plane.
void build_gather_offsets(detail::Plan* p) {
  const auto& t = p->x2;
  const int n = p->cw, w = p->src_w;
  p->off0.resize(n);
  p->off1.resize(n);
  p->coff0.resize(n);
  p->coff1.resize(n);
  int safe = 0;
  bool ok = true;
  for (int x = 0; x < n; ++x) {
    const int i0 = t.i0[x], i1 = t.i1[x];
    bool fits = true;
    switch (p->format) {
      case PixelFormat::kBGR24:
      case PixelFormat::kRGB24:
        p->off0[x] = 3 * i0;
        p->off1[x] = 3 * i1;
        fits = 3 * i1 + 4 <= 3 * w;
        break;
      case PixelFormat::kGRAY8:
        p->off0[x] = i0;
        p->off1[x] = i1;
        fits = i1 + 4 <= w;
        break;
      case PixelFormat::kNV12:
      case PixelFormat::kNV21:
        p->off0[x] = i0;
        p->off1[x] = i1;
        p->coff0[x] = i0 & ~1;
        p->coff1[x] = i1 & ~1;
        fits = i1 + 4 <= w;
        break;
      case PixelFormat::kI420:
        p->off0[x] = i0;
        p->off1[x] = i1;
        p->coff0[x] = i0 / 2;
        p->coff1[x] = i1 / 2;
        fits = i1 + 4 <= w && i1 / 2 + 4 <= w / 2;
        break;
    }
    ok = ok && fits;
    if (ok) safe = x + 1;
  }
  p->x_vec_end = safe / 8 * 8;
}

// Tables for the AVX-512 permute pass (see Plan::perm_idx). Needs the gather offsets.
void build_perm_tables(detail::Plan* p) {
  const int n = p->cw, w = p->src_w, groups = n / 8;
  const PixelFormat f = p->format;
  const bool packed = f == PixelFormat::kBGR24 || f == PixelFormat::kRGB24;
  const bool yuv = plane_count(f) > 1;
  // Multi-plane formats have even widths (ImageView::validate), so chroma rows are exact.
  p->row_bytes0 = packed ? 3 * w : w;
  p->row_bytes1 = f == PixelFormat::kI420 ? w / 2 : w;
  p->perm_idx.assign(static_cast<size_t>(groups) * detail::kPermTableBytes, 0);
  p->perm_base0.assign(groups, 0);
  p->perm_base1.assign(groups, 0);
  p->perm_groups = 0;
  const int u_byte = f == PixelFormat::kNV21 ? 1 : 0;
  const int v_byte = f == PixelFormat::kNV12 ? 1 : 0;  // I420: U and V planes share offsets
  for (int g = 0; g < groups; ++g) {
    const int x0 = 8 * g;
    const int32_t b0 = p->off0[x0], b1 = yuv ? p->coff0[x0] : 0;
    p->perm_base0[g] = b0;
    p->perm_base1[g] = b1;
    uint8_t* table = p->perm_idx.data() + static_cast<size_t>(g) * detail::kPermTableBytes;
    // Lane `lane` (0-15) of table row `row` picks window byte `at`; false if out of reach.
    auto put = [&](int row, int lane, int at) {
      if (at < 0 || at >= 128) return false;
      table[64 * row + 4 * lane] = static_cast<uint8_t>(at);
      return true;
    };
    for (int j = 0; j < 8; ++j) {
      const int x = x0 + j;
      bool ok = true;
      for (int t = 0; t < 2; ++t) {
        const int off = (t == 0 ? p->off0[x] : p->off1[x]) - b0;
        const int coff = (t == 0 ? p->coff0[x] : p->coff1[x]) - b1;
        const int lane = 8 * t + j;
        if (packed) {
          for (int k = 0; k < 3; ++k) ok = ok && put(k, lane, off + k);
        } else {
          ok = ok && put(0, lane, off);
          if (yuv) {
            const bool i420 = f == PixelFormat::kI420;
            ok = ok && put(1, lane, coff + (i420 ? 0 : u_byte));
            ok = ok && put(2, lane, coff + (i420 ? 0 : v_byte));
          }
        }
      }
      if (!ok) return;  // perm_groups stays 0: this scale is for the gathers
    }
  }
  p->perm_groups = groups;
}

ImageView crop(const ImageView& src, const Rect& roi) {
  if (roi.empty()) return src;
  ImageView v = src;
  v.width = roi.width;
  v.height = roi.height;
  switch (src.format) {
    case PixelFormat::kBGR24:
    case PixelFormat::kRGB24:
      v.planes[0] += static_cast<ptrdiff_t>(roi.y) * src.strides[0] + 3 * roi.x;
      break;
    case PixelFormat::kGRAY8:
      v.planes[0] += static_cast<ptrdiff_t>(roi.y) * src.strides[0] + roi.x;
      break;
    case PixelFormat::kNV12:
    case PixelFormat::kNV21:
      v.planes[0] += static_cast<ptrdiff_t>(roi.y) * src.strides[0] + roi.x;
      v.planes[1] += static_cast<ptrdiff_t>(roi.y / 2) * src.strides[1] + roi.x;
      break;
    case PixelFormat::kI420:
      v.planes[0] += static_cast<ptrdiff_t>(roi.y) * src.strides[0] + roi.x;
      v.planes[1] += static_cast<ptrdiff_t>(roi.y / 2) * src.strides[1] + roi.x / 2;
      v.planes[2] += static_cast<ptrdiff_t>(roi.y / 2) * src.strides[2] + roi.x / 2;
      break;
  }
  return v;
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

size_t preprocess_output_bytes(const PreprocessSpec& spec) {
  if (spec.width <= 0 || spec.height <= 0) return 0;
  return static_cast<size_t>(3) * spec.width * spec.height * data_type_size(spec.dtype);
}

Status validate_spec(const PreprocessSpec& spec) {
  if (spec.width <= 0 || spec.height <= 0) {
    return invalid_argument("preprocess: network input size must be positive, got " +
                            std::to_string(spec.width) + "x" + std::to_string(spec.height));
  }
  if (spec.width > kMaxImageDimension || spec.height > kMaxImageDimension) {
    return invalid_argument("preprocess: network input size must be at most " +
                            std::to_string(kMaxImageDimension) + " a side, got " +
                            std::to_string(spec.width) + "x" + std::to_string(spec.height));
  }
  if (spec.dtype != DataType::kFloat32 && spec.dtype != DataType::kFloat16 &&
      spec.dtype != DataType::kUInt8 && spec.dtype != DataType::kInt8) {
    return invalid_argument(std::string("preprocess: output dtype ") + data_type_name(spec.dtype) +
                            " is not one of float32, float16, uint8, int8");
  }
  if (spec.layout != Layout::kNCHW && spec.layout != Layout::kNHWC) {
    return invalid_argument("preprocess: layout must be NCHW or NHWC");
  }
  if (spec.interp != Interp::kBilinear && spec.interp != Interp::kNearest &&
      spec.interp != Interp::kArea) {
    return invalid_argument("preprocess: unknown interpolation " +
                            std::to_string(static_cast<int>(spec.interp)));
  }
  for (int c = 0; c < 3; ++c) {
    if (!(spec.std[c] != 0.0f) || !std::isfinite(spec.std[c])) {
      return invalid_argument("preprocess: std[" + std::to_string(c) +
                              "] must be finite and non-zero");
    }
  }
  if ((spec.dtype == DataType::kUInt8 || spec.dtype == DataType::kInt8) &&
      !(spec.quant_scale > 0.0f && std::isfinite(spec.quant_scale))) {
    return invalid_argument("preprocess: quant_scale must be positive for quantized output");
  }
  if (spec.roi.x < 0 || spec.roi.y < 0 || spec.roi.width < 0 || spec.roi.height < 0) {
    return invalid_argument("preprocess: roi must not be negative");
  }
  return Status::ok();
}

namespace detail {

void build_plan(int src_w, int src_h, PixelFormat format, const PreprocessSpec& spec, Plan* p) {
  p->src_w = src_w;
  p->src_h = src_h;
  p->spec = spec;
  p->format = format;
  p->W = spec.width;
  p->H = spec.height;
  if (spec.mode == ResizeMode::kLetterbox) {
    const float s =
        std::min(static_cast<float>(spec.width) / src_w, static_cast<float>(spec.height) / src_h);
    p->cw = std::max(1, std::min(spec.width, static_cast<int>(std::lround(src_w * s))));
    p->ch = std::max(1, std::min(spec.height, static_cast<int>(std::lround(src_h * s))));
    p->cx0 = (spec.width - p->cw) / 2;
    p->cy0 = (spec.height - p->ch) / 2;
  } else {
    p->cw = spec.width;
    p->ch = spec.height;
    p->cx0 = p->cy0 = 0;
  }
  p->tf.scale_x = static_cast<float>(p->cw) / src_w;
  p->tf.scale_y = static_cast<float>(p->ch) / src_h;
  p->tf.offset_x = static_cast<float>(p->cx0) - static_cast<float>(spec.roi.x) * p->tf.scale_x;
  p->tf.offset_y = static_cast<float>(p->cy0) - static_cast<float>(spec.roi.y) * p->tf.scale_y;

  const Interp xi =
      spec.interp == Interp::kArea && src_w <= p->cw ? Interp::kBilinear : spec.interp;
  const Interp yi =
      spec.interp == Interp::kArea && src_h <= p->ch ? Interp::kBilinear : spec.interp;
  p->two_tap = xi != Interp::kArea && yi != Interp::kArea;
  make_taps2(src_w, p->cw, xi == Interp::kNearest ? Interp::kNearest : Interp::kBilinear, &p->x2);
  make_taps2(src_h, p->ch, yi == Interp::kNearest ? Interp::kNearest : Interp::kBilinear, &p->y2);
  if (xi == Interp::kArea) {
    make_area(src_w, p->cw, &p->xt);
  } else {
    taps2_to_table(p->x2, &p->xt);
  }
  if (yi == Interp::kArea) {
    make_area(src_h, p->ch, &p->yt);
  } else {
    taps2_to_table(p->y2, &p->yt);
  }
  build_gather_offsets(p);
  build_perm_tables(p);

  const bool rgb = spec.color == ColorOrder::kRGB;
  p->sel[0] = rgb ? 0 : 2;
  p->sel[1] = 1;
  p->sel[2] = rgb ? 2 : 0;
  for (int c = 0; c < 3; ++c) {
    p->a[c] = spec.scale / spec.std[c];
    p->b[c] = -spec.mean[c] / spec.std[c];
    p->pad[c] = spec.pad_value * p->a[c] + p->b[c];
  }
  p->inv_qscale = 1.0f / spec.quant_scale;
  const size_t plane = static_cast<size_t>(p->W) * p->H;
  if (spec.layout == Layout::kNHWC) {
    p->cstride = 1;
    p->ystride = static_cast<size_t>(3) * p->W;
    p->xstride = 3;
  } else {
    p->cstride = plane;
    p->ystride = p->W;
    p->xstride = 1;
  }
  // Two cached horizontal rows (or row + accumulator) of 3 channels, one more for the
  // scalar tail of rows that go straight to the output, plus slack.
  p->scratch_floats = static_cast<size_t>(9) * p->cw + 16;
}

namespace {

void store_ref(const Plan& p, void* dst, int c, int y, int x, float v) {
  const size_t i = c * p.cstride + y * p.ystride + x * p.xstride;
  switch (p.spec.dtype) {
    case DataType::kFloat16:
      static_cast<uint16_t*>(dst)[i] = float_to_half(v);
      return;
    case DataType::kUInt8:
    case DataType::kInt8: {
      const long q = std::lrint(v * p.inv_qscale) + p.spec.zero_point;
      if (p.spec.dtype == DataType::kUInt8) {
        static_cast<uint8_t*>(dst)[i] = static_cast<uint8_t>(std::clamp(q, 0L, 255L));
      } else {
        static_cast<int8_t*>(dst)[i] = static_cast<int8_t>(std::clamp(q, -128L, 127L));
      }
      return;
    }
    default:
      static_cast<float*>(dst)[i] = v;
      return;
  }
}

}  // namespace

void run_rows_reference(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end) {
  for (int oy = y_begin; oy < y_end; ++oy) {
    for (int ox = 0; ox < p.W; ++ox) {
      const int cy = oy - p.cy0, cx = ox - p.cx0;
      if (cy < 0 || cy >= p.ch || cx < 0 || cx >= p.cw) {
        for (int c = 0; c < 3; ++c) store_ref(p, dst, c, oy, ox, p.pad[c]);
        continue;
      }
      float acc[3] = {0, 0, 0};
      for (int ky = p.yt.start[cy]; ky < p.yt.start[cy + 1]; ++ky) {
        for (int kx = p.xt.start[cx]; kx < p.xt.start[cx + 1]; ++kx) {
          uint8_t rgb[3];
          load_rgb(src, p.xt.idx[kx], p.yt.idx[ky], rgb);
          const float w = p.yt.w[ky] * p.xt.w[kx];
          for (int c = 0; c < 3; ++c) acc[c] += rgb[p.sel[c]] * w;
        }
      }
      for (int c = 0; c < 3; ++c) store_ref(p, dst, c, oy, ox, acc[c] * p.a[c] + p.b[c]);
    }
  }
}

}  // namespace detail

// ---- Preprocessor -----------------------------------------------------------------------

Preprocessor::Preprocessor() = default;
Preprocessor::Preprocessor(int threads, Impl impl) : impl_(impl) {
  if (threads > 1) {
    owned_pool_ = std::make_unique<ThreadPool>(threads);
    pool_ = owned_pool_.get();
  }
  if (impl_ == Impl::kAvx512 && !avx512_available()) impl_ = Impl::kAuto;
  if (impl_ == Impl::kAvx2 && !avx2_available()) impl_ = Impl::kPortable;
  if (impl_ == Impl::kNeon && !neon_available()) impl_ = Impl::kPortable;
}
Preprocessor::~Preprocessor() = default;
Preprocessor::Preprocessor(Preprocessor&&) noexcept = default;
Preprocessor& Preprocessor::operator=(Preprocessor&&) noexcept = default;

bool Preprocessor::avx2_available() { return detail::avx2_supported(); }
bool Preprocessor::avx512_available() { return detail::avx512_supported(); }
bool Preprocessor::neon_available() { return detail::neon_supported(); }

Status Preprocessor::set_impl(Impl impl) {
  if (impl == Impl::kAvx2 && !avx2_available()) {
    return unsupported("preprocess: the AVX2 kernels need an x86-64 CPU with AVX2 and FMA");
  }
  if (impl == Impl::kAvx512 && !avx512_available()) {
    return unsupported(
        "preprocess: the AVX-512 kernels need an x86-64 CPU with AVX-512 F, BW, VL and VBMI");
  }
  if (impl == Impl::kNeon && !neon_available()) {
    return unsupported("preprocess: the NEON kernels need an AArch64 build");
  }
  impl_ = impl;
  return Status::ok();
}

Preprocessor::Impl Preprocessor::resolved_impl() const {
  if (impl_ != Impl::kAuto) return impl_;
  if (avx512_available()) return Impl::kAvx512;
  if (avx2_available()) return Impl::kAvx2;
  return neon_available() ? Impl::kNeon : Impl::kPortable;
}

void Preprocessor::set_thread_pool(ThreadPool* pool) {
  pool_ = pool;
  if (owned_pool_ && pool != owned_pool_.get()) owned_pool_.reset();
}

int Preprocessor::band_count(int width, int height) const {
  // Small outputs are not worth waking the workers for.
  if (pool_ == nullptr || static_cast<int64_t>(width) * height < 128 * 128) return 1;
  // Several bands per thread, claimed dynamically (see ThreadPool), of at least 16 rows each:
  // a band boundary costs one extra horizontal pass over a source row.
  return std::max(1, std::min(pool_->threads() * 8, height / 16));
}

Status Preprocessor::prepare(const ImageView& src, const PreprocessSpec& spec, ImageView* cropped) {
  VAS_RETURN_IF_ERROR(src.validate().with_context("preprocess"));
  VAS_RETURN_IF_ERROR(validate_spec(spec));
  if (!spec.roi.empty()) {
    const Rect& r = spec.roi;
    if (static_cast<int64_t>(r.x) + r.width > src.width ||
        static_cast<int64_t>(r.y) + r.height > src.height) {
      return invalid_argument("preprocess: roi " + std::to_string(r.width) + "x" +
                              std::to_string(r.height) + "+" + std::to_string(r.x) + "+" +
                              std::to_string(r.y) + " is outside the " + std::to_string(src.width) +
                              "x" + std::to_string(src.height) + " image");
    }
    if (plane_count(src.format) > 1 && ((r.x | r.y | r.width | r.height) & 1) != 0) {
      return invalid_argument(std::string("preprocess: roi of a ") + pixel_format_name(src.format) +
                              " image needs even x, y, width and height");
    }
  }
  *cropped = crop(src, spec.roi);
  if (!plan_) plan_ = std::make_unique<detail::Plan>();
  detail::Plan& p = *plan_;
  if (cropped->width != p.src_w || cropped->height != p.src_h || src.format != p.format ||
      !same_spec(spec, p.spec)) {
    detail::build_plan(cropped->width, cropped->height, src.format, spec, &p);
  }
  // The ROI only moves the box mapping; refresh it without rebuilding the taps.
  p.spec.roi = spec.roi;
  p.tf.offset_x = static_cast<float>(p.cx0) - static_cast<float>(spec.roi.x) * p.tf.scale_x;
  p.tf.offset_y = static_cast<float>(p.cy0) - static_cast<float>(spec.roi.y) * p.tf.scale_y;
  const int bands = band_count(p.W, p.H);
  if (static_cast<int>(p.scratch.size()) < bands) p.scratch.resize(bands);
  for (int b = 0; b < bands; ++b) {
    if (p.scratch[b].size() < p.scratch_floats) p.scratch[b].resize(p.scratch_floats);
  }
  return Status::ok();
}

void Preprocessor::execute(const ImageView& src, void* dst) {
  const detail::Plan& p = *plan_;
  const Impl impl = resolved_impl();
  auto band = [&](int b, int bands) {
    const int y0 = static_cast<int>(static_cast<int64_t>(p.H) * b / bands);
    const int y1 = static_cast<int>(static_cast<int64_t>(p.H) * (b + 1) / bands);
    float* scratch = plan_->scratch[b].data();
    switch (impl) {
      case Impl::kReference:
        detail::run_rows_reference(p, src, dst, y0, y1);
        break;
      case Impl::kAvx2:
        detail::run_rows_avx2(p, src, dst, y0, y1, scratch);
        break;
      case Impl::kAvx512:
        detail::run_rows_avx512(p, src, dst, y0, y1, scratch);
        break;
      case Impl::kNeon:
        detail::run_rows_neon(p, src, dst, y0, y1, scratch);
        break;
      default:
        detail::run_rows_portable(p, src, dst, y0, y1, scratch);
        break;
    }
  };
  const int bands = band_count(p.W, p.H);
  if (bands == 1) {
    band(0, 1);
    return;
  }
  pool_->parallel_for(bands, [&](int b, int e) {
    for (int i = b; i < e; ++i) band(i, bands);
  });
}

Status Preprocessor::run(const ImageView& src, const PreprocessSpec& spec, void* dst,
                         size_t dst_bytes, BoxTransform* tf) {
  if (dst == nullptr) return invalid_argument("preprocess: output tensor is NULL");
  ImageView cropped;
  VAS_RETURN_IF_ERROR(prepare(src, spec, &cropped));
  const size_t need = preprocess_output_bytes(spec);
  if (dst_bytes < need) {
    return invalid_argument("preprocess: output holds " + std::to_string(dst_bytes) +
                            " bytes, the " + std::to_string(spec.width) + "x" +
                            std::to_string(spec.height) + " " + data_type_name(spec.dtype) +
                            " tensor needs " + std::to_string(need));
  }
  const size_t esize = data_type_size(spec.dtype);
  if (reinterpret_cast<uintptr_t>(dst) % esize != 0) {
    return invalid_argument("preprocess: output is not aligned to its element size");
  }
  execute(cropped, dst);
  if (tf) *tf = plan_->tf;
  return Status::ok();
}

Status Preprocessor::run(const ImageView& src, const PreprocessSpec& spec, float* dst,
                         BoxTransform* tf) {
  if (spec.dtype != DataType::kFloat32) {
    return invalid_argument("preprocess: the float* entry point needs dtype float32");
  }
  return run(src, spec, static_cast<void*>(dst), preprocess_output_bytes(spec), tf);
}

Status Preprocessor::run_batch(const ImageView* images, int n, const PreprocessSpec& spec,
                               void* dst, size_t dst_bytes, BoxTransform* tfs) {
  if (images == nullptr || n <= 0) {
    return invalid_argument("preprocess: batch needs at least one image, got " + std::to_string(n));
  }
  if (dst == nullptr) return invalid_argument("preprocess: output tensor is NULL");
  VAS_RETURN_IF_ERROR(validate_spec(spec));
  const size_t item = preprocess_output_bytes(spec);
  if (dst_bytes / item < static_cast<size_t>(n)) {
    // item * n may not fit in size_t: name both factors, and the product only when it fits.
    const bool fits = item <= SIZE_MAX / static_cast<size_t>(n);
    return invalid_argument("preprocess: output holds " + std::to_string(dst_bytes) +
                            " bytes, a batch of " + std::to_string(n) + " tensors of " +
                            std::to_string(item) + " bytes needs " +
                            (fits ? std::to_string(item * static_cast<size_t>(n))
                                  : "more than " + std::to_string(SIZE_MAX)));
  }
  for (int i = 0; i < n; ++i) {
    Status st =
        run(images[i], spec, static_cast<uint8_t*>(dst) + item * i, item, tfs ? &tfs[i] : nullptr);
    if (!st.is_ok()) return st.with_context("batch image " + std::to_string(i));
  }
  return Status::ok();
}

}  // namespace vas
