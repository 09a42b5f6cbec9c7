// The extern "C" layer of the fused preprocessing kernels (csrc/preprocess): struct_size
// handling, enum and range checks that name the field, and the exception guard. The spec is
// converted on every call (a few dozen bytes); the plan cache behind it is keyed on the
// converted spec, so steady-state calls still allocate nothing.
#include <vasdk/vasdk.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <string>

#include "capi_util.h"
#include "core/image.h"
#include "preprocess/preprocess.h"

// Frozen layouts: these offsets are ABI. Grow structs only at the end.
static_assert(offsetof(vas_preprocess_spec_t, width) == 4, "ABI");
static_assert(offsetof(vas_preprocess_spec_t, scale) == 32, "ABI");
static_assert(offsetof(vas_preprocess_spec_t, pad_value) == 60, "ABI");
static_assert(offsetof(vas_preprocess_spec_t, roi_x) == 72, "ABI");
static_assert(sizeof(vas_preprocess_spec_t) == 88, "ABI");
static_assert(sizeof(vas_box_transform_t) == 16, "ABI");
static_assert(sizeof(vas_preprocessor_config_t) == 12, "ABI");
static_assert(VAS_DTYPE_FLOAT32 == static_cast<int>(vas::DataType::kFloat32) &&
                  VAS_DTYPE_FLOAT16 == static_cast<int>(vas::DataType::kFloat16) &&
                  VAS_DTYPE_UINT8 == static_cast<int>(vas::DataType::kUInt8) &&
                  VAS_DTYPE_INT8 == static_cast<int>(vas::DataType::kInt8),
              "dtype codes");
static_assert(VAS_LAYOUT_NCHW == static_cast<int>(vas::Layout::kNCHW) &&
                  VAS_LAYOUT_NHWC == static_cast<int>(vas::Layout::kNHWC),
              "layout codes");
static_assert(VAS_INTERP_AREA == static_cast<int>(vas::Interp::kArea), "interp codes");

struct vas_preprocessor {
  std::unique_ptr<vas::Preprocessor> impl;
};

namespace {

using namespace vas_capi;  // NOLINT(google-build-using-namespace)

// Larger network inputs are not meaningful and would only make the plan tables huge.
constexpr int32_t kMaxSide = 1 << 15;
constexpr int32_t kMaxThreads = 64;

std::string field(const char* fn, const char* name) {
  return std::string(fn) + ": vas_preprocess_spec_t." + name;
}

// Reads and checks a caller's spec; every message names the offending field.
vas_status_t to_spec(const char* fn, const vas_preprocess_spec_t* in, vas::PreprocessSpec* out) {
  VAS_CHECK_ARG(in != nullptr, fn, "spec is NULL");
  vas_preprocess_spec_t s;
  if (!read_versioned(in, sizeof(vas_preprocess_spec_t), &s)) {
    return fail(VAS_ERR_INVALID_ARGUMENT,
                struct_size_message(fn, "vas_preprocess_spec_t", in->struct_size,
                                    sizeof(vas_preprocess_spec_t)));
  }
  auto bad = [&](const char* name, const std::string& why) {
    return fail(VAS_ERR_INVALID_ARGUMENT, field(fn, name) + " " + why);
  };
  if (s.width <= 0 || s.width > kMaxSide) {
    return bad("width",
               "is " + std::to_string(s.width) + ", not in 1.." + std::to_string(kMaxSide));
  }
  if (s.height <= 0 || s.height > kMaxSide) {
    return bad("height",
               "is " + std::to_string(s.height) + ", not in 1.." + std::to_string(kMaxSide));
  }
  if (s.resize_mode != VAS_RESIZE_STRETCH && s.resize_mode != VAS_RESIZE_LETTERBOX) {
    return bad("resize_mode", "is " + std::to_string(s.resize_mode) + ", not a vas_resize_mode_t");
  }
  if (s.interp < VAS_INTERP_BILINEAR || s.interp > VAS_INTERP_AREA) {
    return bad("interp", "is " + std::to_string(s.interp) + ", not a vas_interp_t");
  }
  if (s.channels != VAS_CHANNELS_RGB && s.channels != VAS_CHANNELS_BGR) {
    return bad("channels", "is " + std::to_string(s.channels) + ", not a vas_channel_order_t");
  }
  if (s.layout != VAS_LAYOUT_NCHW && s.layout != VAS_LAYOUT_NHWC) {
    return bad("layout", "is " + std::to_string(s.layout) + ", not a vas_tensor_layout_t");
  }
  if (s.dtype < VAS_DTYPE_FLOAT32 || s.dtype > VAS_DTYPE_INT8) {
    return bad("dtype", "is " + std::to_string(s.dtype) + ", not a vas_data_type_t");
  }
  if (!std::isfinite(s.scale)) return bad("scale", "is not finite");
  for (int c = 0; c < 3; ++c) {
    const std::string idx = "[" + std::to_string(c) + "]";
    if (!std::isfinite(s.mean[c])) return bad(("mean" + idx).c_str(), "is not finite");
    if (!(std::isfinite(s.std[c]) && s.std[c] > 0.0f)) {
      return bad(("std" + idx).c_str(), "must be finite and positive");
    }
  }
  if (s.pad_value < 0 || s.pad_value > 255) {
    return bad("pad_value", "is " + std::to_string(s.pad_value) + ", not in 0..255");
  }
  const bool quantized = s.dtype == VAS_DTYPE_UINT8 || s.dtype == VAS_DTYPE_INT8;
  if (quantized) {
    if (!(std::isfinite(s.quant_scale) && s.quant_scale > 0.0f)) {
      return bad("quant_scale", "must be finite and positive for UINT8/INT8 output");
    }
    const int lo = s.dtype == VAS_DTYPE_UINT8 ? 0 : -128;
    const int hi = s.dtype == VAS_DTYPE_UINT8 ? 255 : 127;
    if (s.zero_point < lo || s.zero_point > hi) {
      return bad("zero_point", "is " + std::to_string(s.zero_point) + ", not in " +
                                   std::to_string(lo) + ".." + std::to_string(hi));
    }
  }
  if (s.roi_x < 0 || s.roi_y < 0 || s.roi_width < 0 || s.roi_height < 0) {
    return bad("roi_*", "must not be negative");
  }

  vas::PreprocessSpec p;
  p.width = s.width;
  p.height = s.height;
  p.mode = s.resize_mode == VAS_RESIZE_LETTERBOX ? vas::ResizeMode::kLetterbox
                                                 : vas::ResizeMode::kStretch;
  p.color = s.channels == VAS_CHANNELS_BGR ? vas::ColorOrder::kBGR : vas::ColorOrder::kRGB;
  p.scale = s.scale;
  for (int c = 0; c < 3; ++c) {
    p.mean[c] = s.mean[c];
    p.std[c] = s.std[c];
  }
  p.pad_value = static_cast<uint8_t>(s.pad_value);
  p.interp = static_cast<vas::Interp>(s.interp);
  p.layout = static_cast<vas::Layout>(s.layout);
  p.dtype = static_cast<vas::DataType>(s.dtype);
  p.quant_scale = quantized ? s.quant_scale : 1.0f;
  p.zero_point = quantized ? s.zero_point : 0;
  p.roi = {s.roi_x, s.roi_y, s.roi_width, s.roi_height};
  vas::Status st = vas::validate_spec(p);
  if (!st.is_ok()) return fail(st.with_context(fn));
  *out = p;
  return VAS_OK;
}

vas_box_transform_t to_c(const vas::BoxTransform& tf) {
  return {tf.scale_x, tf.scale_y, tf.offset_x, tf.offset_y};
}

}  // namespace

extern "C" {

void vas_preprocess_spec_init(vas_preprocess_spec_t* spec) {
  if (spec == nullptr) return;
  std::memset(spec, 0, sizeof(*spec));
  spec->struct_size = sizeof(*spec);
  const vas::PreprocessSpec d;
  spec->resize_mode = VAS_RESIZE_STRETCH;
  spec->interp = VAS_INTERP_BILINEAR;
  spec->channels = VAS_CHANNELS_RGB;
  spec->layout = VAS_LAYOUT_NCHW;
  spec->dtype = VAS_DTYPE_FLOAT32;
  spec->scale = d.scale;
  for (int c = 0; c < 3; ++c) {
    spec->mean[c] = d.mean[c];
    spec->std[c] = d.std[c];
  }
  spec->pad_value = d.pad_value;
  spec->quant_scale = d.quant_scale;
  spec->zero_point = d.zero_point;
}

void vas_preprocessor_config_init(vas_preprocessor_config_t* config) {
  if (config == nullptr) return;
  std::memset(config, 0, sizeof(*config));
  config->struct_size = sizeof(*config);
  config->threads = 1;
  config->kernel = VAS_KERNEL_AUTO;
}

size_t vas_preprocess_output_bytes(const vas_preprocess_spec_t* spec) {
  static const char* fn = "vas_preprocess_output_bytes";
  size_t bytes = 0;
  const vas_status_t rc = guarded(fn, [&]() -> vas_status_t {
    vas::PreprocessSpec p;
    const vas_status_t st = to_spec(fn, spec, &p);
    if (st == VAS_OK) bytes = vas::preprocess_output_bytes(p);
    return st;
  });
  return rc == VAS_OK ? bytes : 0;
}

vas_status_t vas_preprocessor_create(const vas_preprocessor_config_t* config,
                                     vas_preprocessor_t** out) {
  static const char* fn = "vas_preprocessor_create";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    vas_preprocessor_config_t c;
    vas_preprocessor_config_init(&c);
    if (config != nullptr && !read_versioned(config, sizeof(vas_preprocessor_config_t), &c)) {
      return fail(VAS_ERR_INVALID_ARGUMENT,
                  struct_size_message(fn, "vas_preprocessor_config_t", config->struct_size,
                                      sizeof(vas_preprocessor_config_t)));
    }
    if (c.threads < 1 || c.threads > kMaxThreads) {
      return fail(VAS_ERR_INVALID_ARGUMENT,
                  std::string(fn) + ": vas_preprocessor_config_t.threads is " +
                      std::to_string(c.threads) + ", not in 1.." + std::to_string(kMaxThreads));
    }
    using Impl = vas::Preprocessor::Impl;
    Impl impl;
    switch (c.kernel) {
      case VAS_KERNEL_AUTO:
        impl = Impl::kAuto;
        break;
      case VAS_KERNEL_REFERENCE:
        impl = Impl::kReference;
        break;
      case VAS_KERNEL_PORTABLE:
        impl = Impl::kPortable;
        break;
      case VAS_KERNEL_AVX2:
        impl = Impl::kAvx2;
        break;
      case VAS_KERNEL_AVX512:
        impl = Impl::kAvx512;
        break;
      default:
        return fail(VAS_ERR_INVALID_ARGUMENT,
                    std::string(fn) + ": vas_preprocessor_config_t.kernel is " +
                        std::to_string(c.kernel) + ", not a vas_preprocess_kernel_t");
    }
    auto pre = std::make_unique<vas::Preprocessor>(c.threads);
    vas::Status st = pre->set_impl(impl);
    if (!st.is_ok()) return fail(st.with_context(fn));
    auto handle = std::make_unique<vas_preprocessor>();
    handle->impl = std::move(pre);
    *out = handle.release();
    return VAS_OK;
  });
}

void vas_preprocessor_destroy(vas_preprocessor_t* preprocessor) { delete preprocessor; }

vas_status_t vas_preprocess(vas_preprocessor_t* preprocessor, const vas_image_t* image,
                            const vas_preprocess_spec_t* spec, void* out, size_t out_bytes,
                            vas_box_transform_t* out_transform) {
  static const char* fn = "vas_preprocess";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(preprocessor != nullptr, fn, "preprocessor is NULL");
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    vas::ImageView view;
    vas_status_t rc = to_image_view(fn, image, &view);
    if (rc != VAS_OK) return rc;
    vas::PreprocessSpec p;
    rc = to_spec(fn, spec, &p);
    if (rc != VAS_OK) return rc;
    vas::BoxTransform tf;
    vas::Status st = preprocessor->impl->run(view, p, out, out_bytes, &tf);
    if (!st.is_ok()) return fail(st.with_context(fn));
    if (out_transform != nullptr) *out_transform = to_c(tf);
    return VAS_OK;
  });
}

vas_status_t vas_preprocess_batch(vas_preprocessor_t* preprocessor,
                                  const vas_image_t* const* images, size_t count,
                                  const vas_preprocess_spec_t* spec, void* out, size_t out_bytes,
                                  vas_box_transform_t* out_transforms) {
  static const char* fn = "vas_preprocess_batch";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(preprocessor != nullptr, fn, "preprocessor is NULL");
    VAS_CHECK_ARG(images != nullptr, fn, "images is NULL");
    VAS_CHECK_ARG(count > 0, fn, "count is 0");
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    vas::PreprocessSpec p;
    vas_status_t rc = to_spec(fn, spec, &p);
    if (rc != VAS_OK) return rc;
    const size_t item = vas::preprocess_output_bytes(p);
    if (out_bytes / item < count) {
      return fail(VAS_ERR_INVALID_ARGUMENT,
                  std::string(fn) + ": out holds " + std::to_string(out_bytes) + " bytes, " +
                      std::to_string(count) + " images need " + std::to_string(item * count));
    }
    // Every image is checked before any is written, so a bad one leaves out untouched.
    for (size_t i = 0; i < count; ++i) {
      const std::string where = std::string(fn) + ": images[" + std::to_string(i) + "]";
      vas::ImageView view;
      rc = to_image_view(where.c_str(), images[i], &view);
      if (rc != VAS_OK) return rc;
    }
    for (size_t i = 0; i < count; ++i) {
      vas::ImageView view;
      (void)to_image_view(fn, images[i], &view);
      vas::BoxTransform tf;
      vas::Status st =
          preprocessor->impl->run(view, p, static_cast<uint8_t*>(out) + item * i, item, &tf);
      if (!st.is_ok())
        return fail(st.with_context(std::string(fn) + ": images[" + std::to_string(i) + "]"));
      if (out_transforms != nullptr) out_transforms[i] = to_c(tf);
    }
    return VAS_OK;
  });
}

}  // extern "C"
