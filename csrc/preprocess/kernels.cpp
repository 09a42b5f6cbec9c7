// Separable preprocessing kernels: a horizontal pass per source row (colour conversion + x
// taps, into three float rows, cached across output rows) and a vertical pass fused with
// normalisation, padding and the store. run_rows_portable is plain C++ for any CPU;
// run_rows_avx2 and run_rows_avx512 are the same body compiled for AVX2+FMA (gathers) and
// AVX-512 VBMI (byte permutes) horizontal passes; see kernels_x86.h. run_rows_neon is the
// same body with the AArch64 NEON horizontal pass of kernels_neon.h.
// Built with -O3 (see CMakeLists.txt) so the store loops vectorise.
#include "preprocess/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "preprocess/kernel_common.h"
#include "preprocess/kernels_neon.h"
#include "preprocess/kernels_x86.h"

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

using namespace kern;  // NOLINT(google-build-using-namespace): internal helpers

enum class Isa { kPortable, kAvx2, kAvx512, kNeon };

template <Isa I>
inline constexpr bool kX86 = I == Isa::kAvx2 || I == Isa::kAvx512;

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

VAS_INLINE Rows rows_or_none(const ImageView& src, int sy) {
  return sy >= 0 ? rows_of(src, sy) : Rows{nullptr, nullptr, nullptr};
}

// The SIMD part of a horizontal pass over source row sy; returns the first column it left.
template <Isa I, PixelFormat F, typename Sink>
VAS_INLINE int hpass_simd(const Plan& p, const Rows& r, const Rows& next, Sink sink) {
#if VAS_X86_SIMD
  if constexpr (I == Isa::kAvx512) {
    if (p.perm_groups > 0) return hpass_permute<F>(p, r, next, sink);
  }
  if constexpr (kX86<I>) return hpass_gather<F>(p, r, next, sink);
#endif
  (void)p, (void)r, (void)next, (void)sink;
  return 0;
}

// Horizontal pass of source row sy into h (3 rows of p.cw floats, output channel order).
template <Isa I, PixelFormat F>
VAS_INLINE void hpass2(const Plan& p, const ImageView& src, int sy, float* h, int next_sy) {
  const Rows r = rows_of(src, sy);
  int x = 0;
#if VAS_NEON
  if constexpr (I == Isa::kNeon) x = hpass_neon<F>(p, r, h);
#endif
#if VAS_X86_SIMD
  if constexpr (kX86<I>) {
    float* const h0 = h;
    float* const h1 = h + p.cw;
    float* const h2 = h + 2 * p.cw;
    x = hpass_simd<I, F>(p, r, rows_or_none(src, next_sy),
                         [=](int c, __m256 v0, __m256 v1, __m256 v2) VAS_AVX2 {
                           _mm256_storeu_ps(h0 + c, v0);
                           _mm256_storeu_ps(h1 + c, v1);
                           _mm256_storeu_ps(h2 + c, v2);
                         });
  }
#endif
  (void)next_sy;
  hpass2_scalar<F>(p, r, h, x, p.cw);
}

// A source row that maps to one output row unblended goes straight from the horizontal pass
// to float NCHW output: the row cache would add a store and a reload of every value.
template <Isa I, PixelFormat F>
VAS_INLINE void hpass_to_output(const Plan& p, const ImageView& src, int sy, float* row0,
                                int next_sy, float* h) {
  const Rows r = rows_of(src, sy);
  float* const o0 = row0;
  float* const o1 = row0 + p.cstride;
  float* const o2 = row0 + 2 * p.cstride;
  int x = 0;
#if VAS_X86_SIMD
  const float a0 = p.a[0], a1 = p.a[1], a2 = p.a[2], b0 = p.b[0], b1 = p.b[1], b2 = p.b[2];
  // Multiply, then add, rounding as emit_row does (this file is built without FP
  // contraction), so a row gives the same bits whichever way the band split sends it.
  x = hpass_simd<I, F>(
      p, r, rows_or_none(src, next_sy), [=](int c, __m256 v0, __m256 v1, __m256 v2) VAS_AVX2 {
        _mm256_storeu_ps(o0 + c,
                         _mm256_add_ps(_mm256_mul_ps(v0, _mm256_set1_ps(a0)), _mm256_set1_ps(b0)));
        _mm256_storeu_ps(o1 + c,
                         _mm256_add_ps(_mm256_mul_ps(v1, _mm256_set1_ps(a1)), _mm256_set1_ps(b1)));
        _mm256_storeu_ps(o2 + c,
                         _mm256_add_ps(_mm256_mul_ps(v2, _mm256_set1_ps(a2)), _mm256_set1_ps(b2)));
      });
#endif
  (void)next_sy;
  hpass2_scalar<F>(p, r, h, x, p.cw);
  float* const o[3] = {o0, o1, o2};
  for (int c = 0; c < 3; ++c) {
    for (int i = x; i < p.cw; ++i) o[c][i] = h[c * p.cw + i] * p.a[c] + p.b[c];
  }
}

// The horizontal row for source row sy, computed into the slot not holding `keep`.
template <Isa I, PixelFormat F>
VAS_INLINE const float* cached_row(const Plan& p, const ImageView& src, RowCache* cache, int sy,
                                   int keep, int next_sy) {
  for (int s = 0; s < 2; ++s) {
    if (cache->tag[s] == sy) return cache->buf[s];
  }
  const int s = cache->tag[0] == keep ? 1 : 0;
  hpass2<I, F>(p, src, sy, cache->buf[s], next_sy);
  cache->tag[s] = sy;
  return cache->buf[s];
}

template <Isa I, PixelFormat F, typename T>
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
      if constexpr (kX86<I> && std::is_same_v<T, float>) {
        if (!two && p.xstride == 1 && cache.tag[0] != y0 && cache.tag[1] != y0) {
          fill_pad<T>(p, dst, oy, 0, p.cx0);
          fill_pad<T>(p, dst, oy, p.cx0 + p.cw, p.W);
          hpass_to_output<I, F>(p, src, y0, dst + oy * p.ystride + p.cx0, n0, scratch + 2 * cw3);
          continue;
        }
      }
      const float* r0 = cached_row<I, F>(p, src, &cache, y0, y1, two ? y1 : n0);
      const float* r1 = two ? cached_row<I, F>(p, src, &cache, y1, y0, n0) : nullptr;
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

// Each (ISA, format, output type) body is a function of its own, never inlined into the
// dispatch: one function holding all 24 made the compiler's superlinear passes (PRE, register
// liveness) take minutes per build, with no gain at run time (a call per band of rows).
#define VAS_ROWS_ARGS const Plan &p, const ImageView &src, void *dst, int yb, int ye, float *scratch
template <PixelFormat F, typename T>
struct PortableRows {
  __attribute__((noinline)) static void run(VAS_ROWS_ARGS) {
    rows_typed<Isa::kPortable, F>(p, src, static_cast<T*>(dst), yb, ye, scratch);
  }
};
#if VAS_NEON
template <PixelFormat F, typename T>
struct NeonRows {
  __attribute__((noinline)) static void run(VAS_ROWS_ARGS) {
    rows_typed<Isa::kNeon, F>(p, src, static_cast<T*>(dst), yb, ye, scratch);
  }
};
#endif
#if VAS_X86_SIMD
template <PixelFormat F, typename T>
struct Avx2Rows {
  __attribute__((noinline)) VAS_AVX2 static void run(VAS_ROWS_ARGS) {
    rows_typed<Isa::kAvx2, F>(p, src, static_cast<T*>(dst), yb, ye, scratch);
  }
};
template <PixelFormat F, typename T>
struct Avx512Rows {
  __attribute__((noinline)) VAS_AVX512 static void run(VAS_ROWS_ARGS) {
    rows_typed<Isa::kAvx512, F>(p, src, static_cast<T*>(dst), yb, ye, scratch);
  }
};
#endif

template <template <PixelFormat, typename> class Rows, PixelFormat F>
void rows_format(VAS_ROWS_ARGS) {
  switch (p.spec.dtype) {
    case DataType::kFloat16:
      return Rows<F, uint16_t>::run(p, src, dst, yb, ye, scratch);
    case DataType::kUInt8:
      return Rows<F, uint8_t>::run(p, src, dst, yb, ye, scratch);
    case DataType::kInt8:
      return Rows<F, int8_t>::run(p, src, dst, yb, ye, scratch);
    default:
      return Rows<F, float>::run(p, src, dst, yb, ye, scratch);
  }
}

template <template <PixelFormat, typename> class Rows>
void rows_impl(VAS_ROWS_ARGS) {
  switch (p.format) {
    case PixelFormat::kBGR24:
      return rows_format<Rows, PixelFormat::kBGR24>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kRGB24:
      return rows_format<Rows, PixelFormat::kRGB24>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kGRAY8:
      return rows_format<Rows, PixelFormat::kGRAY8>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kNV12:
      return rows_format<Rows, PixelFormat::kNV12>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kNV21:
      return rows_format<Rows, PixelFormat::kNV21>(p, src, dst, yb, ye, scratch);
    case PixelFormat::kI420:
      return rows_format<Rows, PixelFormat::kI420>(p, src, dst, yb, ye, scratch);
  }
}
#undef VAS_ROWS_ARGS

}  // namespace

void run_rows_portable(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                       float* scratch) {
  rows_impl<PortableRows>(p, src, dst, y_begin, y_end, scratch);
}

#if VAS_NEON
void run_rows_neon(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                   float* scratch) {
  rows_impl<NeonRows>(p, src, dst, y_begin, y_end, scratch);
}

bool neon_supported() { return true; }  // Advanced SIMD is part of every AArch64 CPU
#else
void run_rows_neon(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                   float* scratch) {
  rows_impl<PortableRows>(p, src, dst, y_begin, y_end, scratch);
}

bool neon_supported() { return false; }
#endif

#if VAS_X86_SIMD
VAS_AVX2 void run_rows_avx2(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                            float* scratch) {
  rows_impl<Avx2Rows>(p, src, dst, y_begin, y_end, scratch);
}

VAS_AVX512 void run_rows_avx512(const Plan& p, const ImageView& src, void* dst, int y_begin,
                                int y_end, float* scratch) {
  rows_impl<Avx512Rows>(p, src, dst, y_begin, y_end, scratch);
}

bool avx2_supported() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

bool avx512_supported() {
  static const bool ok = avx2_supported() && __builtin_cpu_supports("avx512f") &&
                         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                         __builtin_cpu_supports("avx512vbmi");
  return ok;
}
#else
void run_rows_avx2(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                   float* scratch) {
  rows_impl<PortableRows>(p, src, dst, y_begin, y_end, scratch);
}

void run_rows_avx512(const Plan& p, const ImageView& src, void* dst, int y_begin, int y_end,
                     float* scratch) {
  rows_impl<PortableRows>(p, src, dst, y_begin, y_end, scratch);
}

bool avx2_supported() { return false; }
bool avx512_supported() { return false; }
#endif

}  // namespace vas::detail
