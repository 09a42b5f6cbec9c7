// Separable preprocessing kernels: a horizontal pass per source row (colour conversion + x
// taps, into three float rows, cached across output rows) and a vertical pass fused with
// normalisation, padding and the store. run_rows_portable is plain C++ for any CPU;
// run_rows_avx2 is the same body compiled for AVX2+FMA with gather-based horizontal passes.
// Built with -O3 (see CMakeLists.txt) so the store loops vectorise.
#include "preprocess/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VAS_X86_AVX2 1
#include <immintrin.h>
#else
#define VAS_X86_AVX2 0
#endif

#define VAS_INLINE inline __attribute__((always_inline))

namespace vas::detail {

// ---- float16 ----------------------------------------------------------------------------

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7FFFFFFFu;
  if (absx >= 0x7F800000u) {  // Inf or NaN
    return static_cast<uint16_t>(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u : 0u));
  }
  if (absx >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to Inf
  if (absx < 0x38800000u) {                                               // subnormal or 0
    if (absx < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t mant = (absx & 0x7FFFFFu) | 0x800000u;
    const int shift = 113 - static_cast<int>(absx >> 23) + 13;
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((absx - 0x38000000u) >> 13);
  const uint32_t rem = absx & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {
      float f = std::ldexp(static_cast<float>(mant), -24);
      return sign ? -f : f;
    }
  } else if (exp == 31) {
    x = sign | 0x7F800000u | (mant << 13);
  } else {
    x = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

namespace {

// ---- colour -----------------------------------------------------------------------------

// BT.601 limited range, 20-bit fixed point: the same integers as load_rgb() and OpenCV.
constexpr int kShift = 20, kCY = 1220542, kCUB = 2116026, kCUG = -409993, kCVG = -852492,
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

#if VAS_X86_AVX2
#define VAS_AVX2 __attribute__((target("avx2,fma")))

VAS_AVX2 VAS_INLINE __m256i gather_u32(const uint8_t* base, const int32_t* off) {
  const __m256i o = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off));
  return _mm256_i32gather_epi32(reinterpret_cast<const int*>(base), o, 1);
}

VAS_AVX2 VAS_INLINE __m256 byte_f(__m256i g, int k) {
  const __m256i m = _mm256_set1_epi32(0xFF);
  __m256i v = g;
  if (k == 1) v = _mm256_srli_epi32(g, 8);
  if (k == 2) v = _mm256_srli_epi32(g, 16);
  return _mm256_cvtepi32_ps(_mm256_and_si256(v, m));
}

VAS_AVX2 VAS_INLINE void yuv_rgb8(__m256i y, __m256i u, __m256i v, __m256 rgb[3]) {
  const __m256i zero = _mm256_setzero_si256(), max = _mm256_set1_epi32(255);
  const __m256i rnd = _mm256_set1_epi32(kRound);
  const __m256i yy = _mm256_mullo_epi32(
      _mm256_max_epi32(_mm256_sub_epi32(y, _mm256_set1_epi32(16)), zero), _mm256_set1_epi32(kCY));
  const __m256i uu = _mm256_sub_epi32(u, _mm256_set1_epi32(128));
  const __m256i vv = _mm256_sub_epi32(v, _mm256_set1_epi32(128));
  const __m256i base = _mm256_add_epi32(yy, rnd);
  __m256i r = _mm256_add_epi32(base, _mm256_mullo_epi32(vv, _mm256_set1_epi32(kCVR)));
  __m256i g =
      _mm256_add_epi32(base, _mm256_add_epi32(_mm256_mullo_epi32(vv, _mm256_set1_epi32(kCVG)),
                                              _mm256_mullo_epi32(uu, _mm256_set1_epi32(kCUG))));
  __m256i b = _mm256_add_epi32(base, _mm256_mullo_epi32(uu, _mm256_set1_epi32(kCUB)));
  r = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(r, kShift), zero), max);
  g = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(g, kShift), zero), max);
  b = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(b, kShift), zero), max);
  rgb[0] = _mm256_cvtepi32_ps(r);
  rgb[1] = _mm256_cvtepi32_ps(g);
  rgb[2] = _mm256_cvtepi32_ps(b);
}

// RGB (as floats) of 8 output columns' tap `t` (0 or 1) for format F.
template <PixelFormat F>
VAS_AVX2 VAS_INLINE void load8(const Plan& p, const Rows& r, int x, int t, __m256 rgb[3]) {
  const int32_t* off = (t == 0 ? p.off0.data() : p.off1.data()) + x;
  if constexpr (F == PixelFormat::kBGR24 || F == PixelFormat::kRGB24) {
    const __m256i g = gather_u32(r.p0, off);
    const bool bgr = F == PixelFormat::kBGR24;
    rgb[0] = byte_f(g, bgr ? 2 : 0);
    rgb[1] = byte_f(g, 1);
    rgb[2] = byte_f(g, bgr ? 0 : 2);
  } else if constexpr (F == PixelFormat::kGRAY8) {
    rgb[0] = rgb[1] = rgb[2] = byte_f(gather_u32(r.p0, off), 0);
  } else {
    const int32_t* coff = (t == 0 ? p.coff0.data() : p.coff1.data()) + x;
    const __m256i m = _mm256_set1_epi32(0xFF);
    const __m256i y = _mm256_and_si256(gather_u32(r.p0, off), m);
    __m256i u, v;
    if constexpr (F == PixelFormat::kI420) {
      u = _mm256_and_si256(gather_u32(r.p1, coff), m);
      v = _mm256_and_si256(gather_u32(r.p2, coff), m);
    } else {
      const __m256i uv = gather_u32(r.p1, coff);
      const __m256i lo = _mm256_and_si256(uv, m);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(uv, 8), m);
      u = F == PixelFormat::kNV12 ? lo : hi;
      v = F == PixelFormat::kNV12 ? hi : lo;
    }
    yuv_rgb8(y, u, v, rgb);
  }
}

// `next` is the source row the following pass will read (rows of nullptr: none); it is
// prefetched along the way, because each source row is read once and gathers do not train
// the hardware prefetcher, so the first touch of a row would otherwise wait on memory.
template <PixelFormat F>
VAS_AVX2 void hpass2_avx2(const Plan& p, const Rows& r, float* h, const Rows& next) {
  float* out[3] = {h, h + p.cw, h + 2 * p.cw};
  const int end = p.x_vec_end;
  for (int x = 0; x < end; x += 8) {
    if (next.p0 != nullptr) {
      const char* q = reinterpret_cast<const char*>(next.p0 + p.off0[x]);
      _mm_prefetch(q, _MM_HINT_T0);
      _mm_prefetch(q + 64, _MM_HINT_T0);
      if (next.p1 != nullptr) {
        _mm_prefetch(reinterpret_cast<const char*>(next.p1 + p.coff0[x]), _MM_HINT_T0);
      }
      if (next.p2 != nullptr) {
        _mm_prefetch(reinterpret_cast<const char*>(next.p2 + p.coff0[x]), _MM_HINT_T0);
      }
    }
    __m256 a[3];
    load8<F>(p, r, x, 0, a);
    if (!p.x2.single) {
      __m256 b[3];
      load8<F>(p, r, x, 1, b);
      const __m256 w = _mm256_loadu_ps(p.x2.w1.data() + x);
      for (int c = 0; c < 3; ++c) a[c] = _mm256_fmadd_ps(_mm256_sub_ps(b[c], a[c]), w, a[c]);
    }
    // Output channel order: sel is {0,1,2} (RGB) or {2,1,0} (BGR).
    if (p.sel[0] == 0) {
      _mm256_storeu_ps(out[0] + x, a[0]);
      _mm256_storeu_ps(out[2] + x, a[2]);
    } else {
      _mm256_storeu_ps(out[0] + x, a[2]);
      _mm256_storeu_ps(out[2] + x, a[0]);
    }
    _mm256_storeu_ps(out[1] + x, a[1]);
  }
  hpass2_scalar<F>(p, r, h, end, p.cw);
}
#endif

// ---- stores -----------------------------------------------------------------------------

template <typename T>
VAS_INLINE T convert(float v, const Plan& p) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (std::is_same_v<T, uint16_t>) {
    return float_to_half(v);
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    const long q = std::lrint(v * p.inv_qscale) + p.spec.zero_point;
    return static_cast<uint8_t>(q < 0 ? 0 : (q > 255 ? 255 : q));
  } else {
    const long q = std::lrint(v * p.inv_qscale) + p.spec.zero_point;
    return static_cast<int8_t>(q < -128 ? -128 : (q > 127 ? 127 : q));
  }
}

template <typename T>
VAS_INLINE void fill_pad(const Plan& p, T* dst, int oy, int xb, int xe) {
  for (int c = 0; c < 3; ++c) {
    const T v = convert<T>(p.pad[c], p);
    T* o = dst + c * p.cstride + oy * p.ystride;
    for (int x = xb; x < xe; ++x) o[x * p.xstride] = v;
  }
}

// One output row: content columns from r0 (and r1 blended by wy when r1 != nullptr), pads.
template <typename T>
VAS_INLINE void emit_row(const Plan& p, T* dst, int oy, const float* r0, const float* r1,
                         float wy) {
  fill_pad<T>(p, dst, oy, 0, p.cx0);
  fill_pad<T>(p, dst, oy, p.cx0 + p.cw, p.W);
  const int cw = p.cw;
  for (int c = 0; c < 3; ++c) {
    const float a = p.a[c], b = p.b[c];
    const float* __restrict s0 = r0 + c * cw;
    T* __restrict o = dst + c * p.cstride + oy * p.ystride + p.cx0 * p.xstride;
    if (p.xstride == 1) {
      if (r1 == nullptr) {
        for (int x = 0; x < cw; ++x) o[x] = convert<T>(s0[x] * a + b, p);
      } else {
        const float* __restrict s1 = r1 + c * cw;
        for (int x = 0; x < cw; ++x) {
          o[x] = convert<T>((s0[x] + (s1[x] - s0[x]) * wy) * a + b, p);
        }
      }
    } else {
      const size_t xs = p.xstride;
      for (int x = 0; x < cw; ++x) {
        const float v = r1 ? s0[x] + (r1[c * cw + x] - s0[x]) * wy : s0[x];
        o[x * xs] = convert<T>(v * a + b, p);
      }
    }
  }
}

// Two cached horizontal rows, keyed by source row.
struct RowCache {
  float* buf[2];
  int tag[2] = {-1, -1};
};

template <bool kAvx2, PixelFormat F>
VAS_INLINE void hpass2(const Plan& p, const ImageView& src, int sy, float* h, int next_sy) {
  const Rows r = rows_of(src, sy);
#if VAS_X86_AVX2
  if constexpr (kAvx2) {
    const Rows next = next_sy >= 0 ? rows_of(src, next_sy) : Rows{nullptr, nullptr, nullptr};
    hpass2_avx2<F>(p, r, h, next);
    return;
  }
#else
  (void)next_sy;
#endif
  hpass2_scalar<F>(p, r, h, 0, p.cw);
}

// The horizontal row for source row sy, computed into the slot not holding `keep`.
template <bool kAvx2, PixelFormat F>
VAS_INLINE const float* cached_row(const Plan& p, const ImageView& src, RowCache* cache, int sy,
                                   int keep, int next_sy) {
  for (int s = 0; s < 2; ++s) {
    if (cache->tag[s] == sy) return cache->buf[s];
  }
  const int s = cache->tag[0] == keep ? 1 : 0;
  hpass2<kAvx2, F>(p, src, sy, cache->buf[s], next_sy);
  cache->tag[s] = sy;
  return cache->buf[s];
}

template <bool kAvx2, PixelFormat F, typename T>
VAS_INLINE void rows_typed(const Plan& p, const ImageView& src, T* dst, int yb, int ye,
                           float* scratch) {
  const int cw3 = 3 * p.cw;
  if (p.two_tap) {
    RowCache cache{{scratch, scratch + cw3}};
    for (int oy = yb; oy < ye; ++oy) {
      const int r = oy - p.cy0;
      if (r < 0 || r >= p.ch) {
        fill_pad<T>(p, dst, oy, 0, p.W);
        continue;
      }
      const int y0 = p.y2.i0[r], y1 = p.y2.i1[r];
      const float wy = p.y2.w1[r];
      const bool two = wy != 0.0f && y1 != y0;
      // The rows the next output row will read, for prefetching.
      const bool more = r + 1 < p.ch && oy + 1 < ye;
      const int n0 = more ? p.y2.i0[r + 1] : -1;
      const float* r0 = cached_row<kAvx2, F>(p, src, &cache, y0, y1, two ? y1 : n0);
      const float* r1 = two ? cached_row<kAvx2, F>(p, src, &cache, y1, y0, n0) : nullptr;
      emit_row<T>(p, dst, oy, r0, r1, wy);
    }
    return;
  }
  // General taps (area): accumulate weighted horizontal rows, then store.
  float* h = scratch;
  float* acc = scratch + cw3;
  for (int oy = yb; oy < ye; ++oy) {
    const int r = oy - p.cy0;
    if (r < 0 || r >= p.ch) {
      fill_pad<T>(p, dst, oy, 0, p.W);
      continue;
    }
    std::fill(acc, acc + cw3, 0.0f);
    for (int k = p.yt.start[r]; k < p.yt.start[r + 1]; ++k) {
      hpass_table<F>(p, rows_of(src, p.yt.idx[k]), h);
      const float w = p.yt.w[k];
      for (int i = 0; i < cw3; ++i) acc[i] += h[i] * w;
    }
    emit_row<T>(p, dst, oy, acc, nullptr, 0.0f);
  }
}

template <bool kAvx2, PixelFormat F>
VAS_INLINE void rows_format(const Plan& p, const ImageView& src, void* dst, int yb, int ye,
                            float* scratch) {
  switch (p.spec.dtype) {
    case DataType::kFloat16:
      rows_typed<kAvx2, F>(p, src, static_cast<uint16_t*>(dst), yb, ye, scratch);
      break;
    case DataType::kUInt8:
      rows_typed<kAvx2, F>(p, src, static_cast<uint8_t*>(dst), yb, ye, scratch);
      break;
    case DataType::kInt8:
      rows_typed<kAvx2, F>(p, src, static_cast<int8_t*>(dst), yb, ye, scratch);
      break;
    default:
      rows_typed<kAvx2, F>(p, src, static_cast<float*>(dst), yb, ye, scratch);
      break;
  }
}

template <bool kAvx2>
VAS_INLINE void rows_impl(const Plan& p, const ImageView& src, void* dst, int yb, int ye,
                          float* scratch) {
  switch (p.format) {
    case PixelFormat::kBGR24:
      return rows_format<kAvx2, PixelFormat::kBGR24>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kRGB24:
      return rows_format<kAvx2, PixelFormat::kRGB24>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kGRAY8:
      return rows_format<kAvx2, PixelFormat::kGRAY8>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kNV12:
      return rows_format<kAvx2, PixelFormat::kNV12>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kNV21:
      return rows_format<kAvx2, PixelFormat::kNV21>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kI420:
      return rows_format<kAvx2, PixelFormat::kI420>(p, src, dst, yb, ye, scratch);
  }
}

}  // namespace

void run_rows_portable(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                       float* scratch) {
  rows_impl<false>(p, src, dst, y_begin, y_end, scratch);
}

#if VAS_X86_AVX2
VAS_AVX2 void run_rows_avx2(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                            float* scratch) {
  rows_impl<true>(p, src, dst, y_begin, y_end, scratch);
}

bool avx2_supported() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}
#else
void run_rows_avx2(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                   float* scratch) {
  rows_impl<false>(p, src, dst, y_begin, y_end, scratch);
}

bool avx2_supported() { return false; }
#endif

}  // namespace vas::detail
