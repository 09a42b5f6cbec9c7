// Internal to the preprocessing kernels: the x86 horizontal passes. Each loads 8 output
// columns of one source row at a time (colour-converted, both x taps blended) and hands them
// to a sink, which either stores them into the row cache or normalises them straight into
// the output tensor.
//  - AVX2: 4-byte gathers at the per-column byte offsets (Plan::off0/off1/coff0/coff1).
//  - AVX-512 VBMI: the 8 columns' bytes are picked out of a 128-byte window of the row with
//    one two-register byte permute per channel (Plan::perm_*), which costs far less than a
//    gather on CPUs where gathers are micro-coded. Masked loads keep the window inside the row.
// Everything here is compiled through target attributes and chosen at run time.
#pragma once

#include "preprocess/kernel_common.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VAS_X86_SIMD 1
// GCC 12 flags the AVX-512 intrinsics' own "undefined" pass-through operands as maybe
// uninitialised; the warning is located in the header, so silence it there only.
#if defined(__clang__)
#include <immintrin.h>
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
#else
#define VAS_X86_SIMD 0
#endif

#if VAS_X86_SIMD
#define VAS_AVX2 __attribute__((target("avx2,fma")))
#define VAS_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vbmi")))

namespace vas::detail::kern {

// ---- AVX2 gathers -----------------------------------------------------------------------

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

// Hands sink(x, c0, c1, c2) the 8 columns at x in output channel order.
template <typename Sink>
VAS_AVX2 VAS_INLINE void emit8(const Plan& p, int x, const __m256 rgb[3], Sink& sink) {
  if (p.sel[0] == 0) {
    sink(x, rgb[0], rgb[1], rgb[2]);
  } else {
    sink(x, rgb[2], rgb[1], rgb[0]);
  }
}

// `next` is the source row the following pass will read (p0 == nullptr: none); it is
// prefetched along the way, because each source row is read once and neither gathers nor
// permute windows train the hardware prefetcher well enough to hide the first touch.
VAS_AVX2 VAS_INLINE void prefetch_next(const Rows& next, int off, int coff) {
  if (next.p0 == nullptr) return;
  const char* q = reinterpret_cast<const char*>(next.p0 + off);
  _mm_prefetch(q, _MM_HINT_T0);
  _mm_prefetch(q + 64, _MM_HINT_T0);
  if (next.p1 != nullptr) _mm_prefetch(reinterpret_cast<const char*>(next.p1 + coff), _MM_HINT_T0);
  if (next.p2 != nullptr) _mm_prefetch(reinterpret_cast<const char*>(next.p2 + coff), _MM_HINT_T0);
}

// Columns [0, p.x_vec_end) through gathers; returns the first column left to the caller.
template <PixelFormat F, typename Sink>
VAS_AVX2 int hpass_gather(const Plan& p, const Rows& r, const Rows& next, Sink sink) {
  const int end = p.x_vec_end;
  for (int x = 0; x < end; x += 8) {
    prefetch_next(next, p.off0[x], p.coff0[x]);
    __m256 a[3];
    load8<F>(p, r, x, 0, a);
    if (!p.x2.single) {
      __m256 b[3];
      load8<F>(p, r, x, 1, b);
      const __m256 w = _mm256_loadu_ps(p.x2.w1.data() + x);
      for (int c = 0; c < 3; ++c) a[c] = _mm256_fmadd_ps(_mm256_sub_ps(b[c], a[c]), w, a[c]);
    }
    emit8(p, x, a, sink);
  }
  return end;
}

// ---- AVX-512 VBMI permutes --------------------------------------------------------------

// The 128 bytes of a plane row from `base` (of `len` bytes); bytes past the row end read as
// zero, and masked loads do not fault on them.
VAS_AVX512 VAS_INLINE void load_window(const uint8_t* row, int base, int len, __m512i* lo,
                                       __m512i* hi) {
  const uint8_t* q = row + base;
  const int n = len - base;
  if (n >= 128) {
    *lo = _mm512_loadu_si512(q);
    *hi = _mm512_loadu_si512(q + 64);
    return;
  }
  const __mmask64 m0 = n >= 64 ? ~0ull : (1ull << n) - 1;
  const __mmask64 m1 = n > 64 ? (1ull << (n - 64)) - 1 : 0;
  *lo = _mm512_maskz_loadu_epi8(m0, q);
  *hi = _mm512_maskz_loadu_epi8(m1, q + 64);
}

// 16 bytes picked from the window by a table row, zero-extended to 16 int32 lanes.
VAS_AVX512 VAS_INLINE __m512i pick16(__m512i lo, __m512i hi, const uint8_t* idx) {
  constexpr __mmask64 kByte0 = 0x1111111111111111ull;  // lowest byte of every int32 lane
  return _mm512_maskz_permutex2var_epi8(kByte0, lo, _mm512_loadu_si512(idx), hi);
}

// Lanes 0-7 hold tap 0 and lanes 8-15 tap 1 of 8 columns: the blended 8 floats.
VAS_AVX512 VAS_INLINE __m256 blend_taps(__m512 v, bool single, __m256 w) {
  const __m256 t0 = _mm512_castps512_ps256(v);
  if (single) return t0;
  const __m256 t1 = _mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1));
  return _mm256_fmadd_ps(_mm256_sub_ps(t1, t0), w, t0);
}

VAS_AVX512 VAS_INLINE void yuv_rgb16(__m512i y, __m512i u, __m512i v, __m512 rgb[3]) {
  const __m512i zero = _mm512_setzero_si512(), max = _mm512_set1_epi32(255);
  const __m512i yy = _mm512_mullo_epi32(
      _mm512_max_epi32(_mm512_sub_epi32(y, _mm512_set1_epi32(16)), zero), _mm512_set1_epi32(kCY));
  const __m512i uu = _mm512_sub_epi32(u, _mm512_set1_epi32(128));
  const __m512i vv = _mm512_sub_epi32(v, _mm512_set1_epi32(128));
  const __m512i base = _mm512_add_epi32(yy, _mm512_set1_epi32(kRound));
  __m512i r = _mm512_add_epi32(base, _mm512_mullo_epi32(vv, _mm512_set1_epi32(kCVR)));
  __m512i g =
      _mm512_add_epi32(base, _mm512_add_epi32(_mm512_mullo_epi32(vv, _mm512_set1_epi32(kCVG)),
                                              _mm512_mullo_epi32(uu, _mm512_set1_epi32(kCUG))));
  __m512i b = _mm512_add_epi32(base, _mm512_mullo_epi32(uu, _mm512_set1_epi32(kCUB)));
  r = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(r, kShift), zero), max);
  g = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(g, kShift), zero), max);
  b = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(b, kShift), zero), max);
  rgb[0] = _mm512_cvtepi32_ps(r);
  rgb[1] = _mm512_cvtepi32_ps(g);
  rgb[2] = _mm512_cvtepi32_ps(b);
}

// The plan's permute tables for one row, copied out of the Plan so that the loop keeps them
// in registers (the output stores could alias the Plan as far as the compiler knows).
struct PermRow {
  const uint8_t* idx;
  const int32_t* base0;
  const int32_t* base1;
  const float* w1;
  int len0, len1;
};

// RGB of the 8 columns of group g (taps blended unless kSingle), through the permute tables.
template <PixelFormat F, bool kSingle>
VAS_AVX512 VAS_INLINE void permute8(const PermRow& t, const Rows& r, int g, __m256 rgb[3]) {
  const uint8_t* idx = t.idx + static_cast<size_t>(g) * kPermTableBytes;
  const __m256 w = kSingle ? _mm256_setzero_ps() : _mm256_loadu_ps(t.w1 + 8 * g);
  __m512i lo, hi;
  load_window(r.p0, t.base0[g], t.len0, &lo, &hi);
  if constexpr (F == PixelFormat::kBGR24 || F == PixelFormat::kRGB24) {
    __m256 byte[3];
    for (int k = 0; k < 3; ++k) {
      byte[k] = blend_taps(_mm512_cvtepi32_ps(pick16(lo, hi, idx + 64 * k)), kSingle, w);
    }
    const bool bgr = F == PixelFormat::kBGR24;
    rgb[0] = byte[bgr ? 2 : 0];
    rgb[1] = byte[1];
    rgb[2] = byte[bgr ? 0 : 2];
  } else if constexpr (F == PixelFormat::kGRAY8) {
    rgb[0] = rgb[1] = rgb[2] = blend_taps(_mm512_cvtepi32_ps(pick16(lo, hi, idx)), kSingle, w);
  } else {
    const __m512i y = pick16(lo, hi, idx);
    __m512i u, v;
    load_window(r.p1, t.base1[g], t.len1, &lo, &hi);
    u = pick16(lo, hi, idx + 64);
    if constexpr (F == PixelFormat::kI420) load_window(r.p2, t.base1[g], t.len1, &lo, &hi);
    v = pick16(lo, hi, idx + 128);
    __m512 f[3];
    yuv_rgb16(y, u, v, f);
    for (int c = 0; c < 3; ++c) rgb[c] = blend_taps(f[c], kSingle, w);
  }
}

template <PixelFormat F, bool kSingle, bool kRgbOut, typename Sink>
VAS_AVX512 VAS_INLINE void permute_groups(const PermRow& t, int groups, const Rows& r,
                                          const Rows& next, Sink& sink) {
  for (int g = 0; g < groups; ++g) {
    prefetch_next(next, t.base0[g], t.base1[g]);
    __m256 rgb[3];
    permute8<F, kSingle>(t, r, g, rgb);
    if constexpr (kRgbOut) {
      sink(8 * g, rgb[0], rgb[1], rgb[2]);
    } else {
      sink(8 * g, rgb[2], rgb[1], rgb[0]);
    }
  }
}

// Columns [0, 8 * p.perm_groups) through permutes; returns the first column left over.
template <PixelFormat F, typename Sink>
VAS_AVX512 int hpass_permute(const Plan& p, const Rows& r, const Rows& next, Sink sink) {
  const PermRow t{p.perm_idx.data(), p.perm_base0.data(), p.perm_base1.data(),
                  p.x2.w1.data(),    p.row_bytes0,        p.row_bytes1};
  const int groups = p.perm_groups;
  const bool rgb_out = p.sel[0] == 0;
  if (p.x2.single) {
    if (rgb_out) {
      permute_groups<F, true, true>(t, groups, r, next, sink);
    } else {
      permute_groups<F, true, false>(t, groups, r, next, sink);
    }
  } else if (rgb_out) {
    permute_groups<F, false, true>(t, groups, r, next, sink);
  } else {
    permute_groups<F, false, false>(t, groups, r, next, sink);
  }
  return 8 * groups;
}

}  // namespace vas::detail::kern
#endif  // VAS_X86_SIMD
