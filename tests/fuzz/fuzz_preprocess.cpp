// Fuzzes the image kernels: vas::Preprocessor::run over random pixel formats, sizes, strides,
// resize modes, network sizes, and (from the same input) interpolation, layout, output type
// and ROI through the generic entry point. Each plane and the output live in their own
// exactly-sized heap buffers, so AddressSanitizer flags any access past what the caller
// handed in.
// Oracles: the float32 call either fails with a message (invalid image) or fills the whole
// output with values inside the range that interpolating 0..255 pixels allows; a second call
// with the cached tables gives the same bytes; and a fast path (from the input: AVX-512,
// AVX2 or portable, where the CPU has them) agrees with the scalar reference (kReference) on
// the generic call.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/image.h"
#include "preprocess/preprocess.h"

namespace {

// Reads fuzz bytes in order; past the end it yields zeros, so every input is usable.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  int16_t i16() { return static_cast<int16_t>(u8() | (u8() << 8)); }
  const uint8_t* rest(size_t* n) const {
    *n = size_ - std::min(pos_, size_);
    return data_ + std::min(pos_, size_);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

int rows_of(vas::PixelFormat f, int plane, int height) {
  return plane == 0 || f == vas::PixelFormat::kGRAY8 ? height : height / 2;
}

int row_bytes(vas::PixelFormat f, int plane, int width) {
  if (plane > 0) return f == vas::PixelFormat::kI420 ? width / 2 : width;
  return (f == vas::PixelFormat::kBGR24 || f == vas::PixelFormat::kRGB24) ? width * 3 : width;
}

// IEEE half to double (subnormals, infinities and NaN included).
double half_to_double(uint16_t h) {
  const int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  if (exp == 31) return mant ? NAN : sign * INFINITY;
  return sign * std::ldexp(1024 + mant, exp - 25);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const uint8_t fmt = in.u8();
  // Mostly valid formats 1..6, sometimes an unknown code (0, 7, or a wild value).
  const int format_code = fmt < 240 ? 1 + fmt % 6 : (fmt < 248 ? fmt % 8 : in.i16());
  const auto format = static_cast<vas::PixelFormat>(format_code);
  const uint8_t shape = in.u8();
  // Small sizes cover edge cases quickly; 1 in 16 inputs takes a raw (maybe negative) size.
  int width = shape < 240 ? 1 + in.u8() % 96 : in.i16();
  int height = shape < 240 ? 1 + in.u8() % 96 : in.i16();
  if (width > 4096 || height > 4096) return 0;  // keeps each run fast; sizes are not the bug

  vas::PreprocessSpec spec;
  spec.width = in.u8() % 80;  // 0 is invalid and must be rejected
  spec.height = in.u8() % 80;
  const uint8_t modes = in.u8();
  spec.mode = (modes & 1) ? vas::ResizeMode::kLetterbox : vas::ResizeMode::kStretch;
  spec.color = (modes & 2) ? vas::ColorOrder::kBGR : vas::ColorOrder::kRGB;
  spec.pad_value = in.u8();
  for (int c = 0; c < 3; ++c) {
    spec.mean[c] = static_cast<float>(in.u8());
    spec.std[c] = 1.0f + static_cast<float>(in.u8()) / 16.0f;
  }

  vas::ImageView view;
  view.format = format;
  view.width = width;
  view.height = height;
  std::vector<std::vector<uint8_t>> planes(3);
  size_t pix_n = 0;
  const uint8_t* pix = in.rest(&pix_n);
  for (int p = 0; p < 3; ++p) {
    const uint8_t mode = in.u8();
    const int row = width > 0 ? row_bytes(format, p, width) : 1;
    int stride = row + mode % 8;                   // usual: padded rows
    if (mode >= 224) stride = row - 1 - mode % 4;  // too short: must be rejected
    if (mode == 255) stride = in.i16();            // anything at all
    view.strides[p] = stride;
    if (mode == 254) continue;  // a NULL plane: must be rejected
    const int rows = height > 0 ? rows_of(format, p, height) : 1;
    const size_t bytes = static_cast<size_t>(std::max(stride, 1)) * std::max(rows, 1);
    if (bytes > (size_t{16} << 20)) return 0;
    planes[p].resize(bytes);
    for (size_t i = 0; i < bytes && pix_n > 0; ++i) planes[p][i] = pix[i % pix_n];
    view.planes[p] = planes[p].data();
  }

  const size_t out_n = size_t{3} * std::max(spec.width, 1) * std::max(spec.height, 1);
  std::vector<float> out(out_n, NAN);
  vas::Preprocessor pre;
  vas::BoxTransform tf;
  vas::Status st = pre.run(view, spec, out.data(), &tf);
  if (!st.is_ok()) {
    if (st.message().empty()) std::abort();
    return 0;
  }
  // value = pixel * scale / std - mean / std, so each channel stays within its 0..255 image.
  const size_t plane = static_cast<size_t>(spec.width) * spec.height;
  for (int c = 0; c < 3; ++c) {
    const float a = spec.scale / spec.std[c], b = -spec.mean[c] / spec.std[c];
    const float lo = std::min(b, 255 * a + b) - 1e-3f, hi = std::max(b, 255 * a + b) + 1e-3f;
    for (size_t i = 0; i < plane; ++i) {
      const float v = out[c * plane + i];
      if (!(v >= lo && v <= hi)) std::abort();  // also catches NaN: an output never written
    }
  }
  if (!(tf.scale_x > 0) || !(tf.scale_y > 0)) std::abort();
  std::vector<float> again(out_n, NAN);
  if (!pre.run(view, spec, again.data(), &tf).is_ok()) std::abort();
  if (std::memcmp(out.data(), again.data(), plane * 3 * sizeof(float)) != 0) std::abort();

  // Generic entry point: interpolation, layout, output type and ROI from the extras byte.
  const uint8_t extras = in.u8();
  vas::PreprocessSpec g = spec;
  g.interp = static_cast<vas::Interp>(extras % 3);
  g.layout = (extras & 4) ? vas::Layout::kNHWC : vas::Layout::kNCHW;
  const vas::DataType types[4] = {vas::DataType::kFloat32, vas::DataType::kFloat16,
                                  vas::DataType::kUInt8, vas::DataType::kInt8};
  g.dtype = types[(extras >> 3) % 4];
  g.quant_scale =
      g.dtype == vas::DataType::kUInt8 || g.dtype == vas::DataType::kInt8 ? 1.0f / 64.0f : 1.0f;
  g.zero_point = g.dtype == vas::DataType::kInt8 ? -3 : 0;
  if (extras & 32) {  // a ROI, sometimes partly outside the image (must be rejected)
    g.roi.x = in.u8() % (width + 2);
    g.roi.y = in.u8() % (height + 2);
    g.roi.width = 1 + in.u8() % width;
    g.roi.height = 1 + in.u8() % height;
  }
  const size_t bytes = vas::preprocess_output_bytes(g);
  if (bytes == 0 || bytes > (size_t{64} << 20)) return 0;
  std::vector<uint8_t> fast(bytes), ref(bytes);
  vas::Preprocessor fast_pre;
  using Impl = vas::Preprocessor::Impl;
  const Impl fast_impls[] = {Impl::kAvx512, Impl::kAvx2, Impl::kPortable};
  const Impl pick = fast_impls[(extras >> 6) % 3];
  if (!fast_pre.set_impl(pick).is_ok() && !fast_pre.set_impl(Impl::kPortable).is_ok()) {
    std::abort();
  }
  vas::Preprocessor ref_pre(1, vas::Preprocessor::Impl::kReference);
  vas::BoxTransform tf_fast, tf_ref;
  const vas::Status sf = fast_pre.run(view, g, fast.data(), bytes, &tf_fast);
  const vas::Status sr = ref_pre.run(view, g, ref.data(), bytes, &tf_ref);
  if (sf.is_ok() != sr.is_ok()) std::abort();  // both paths validate the same way
  if (!sf.is_ok()) {
    if (sf.message().empty()) std::abort();
    return 0;
  }
  // The paths differ only in arithmetic order: floats agree closely, quantised outputs and
  // float16 within one step.
  const size_t n = bytes / vas::data_type_size(g.dtype);
  for (size_t i = 0; i < n; ++i) {
    double a = 0, b = 0, tol = 0;
    switch (g.dtype) {
      case vas::DataType::kFloat32: {
        float fa, fb;
        std::memcpy(&fa, fast.data() + 4 * i, 4);
        std::memcpy(&fb, ref.data() + 4 * i, 4);
        a = fa, b = fb, tol = 1e-3 * (1 + std::fabs(b));
        break;
      }
      case vas::DataType::kUInt8:
        a = fast[i], b = ref[i], tol = 1;
        break;
      case vas::DataType::kInt8:
        a = static_cast<int8_t>(fast[i]), b = static_cast<int8_t>(ref[i]), tol = 1;
        break;
      default: {  // float16: compare the values; rounding to half adds up to half an ulp each
        uint16_t ha, hb;
        std::memcpy(&ha, fast.data() + 2 * i, 2);
        std::memcpy(&hb, ref.data() + 2 * i, 2);
        a = half_to_double(ha), b = half_to_double(hb);
        tol = 1e-3 * (1 + std::fabs(b)) + std::fabs(b) / 1024 + std::ldexp(1.0, -24);
      }
    }
    if (std::isnan(a) && std::isnan(b)) continue;
    if (!(std::fabs(a - b) <= tol)) std::abort();
  }
  return 0;
}
