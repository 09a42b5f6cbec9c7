// Fused preprocessing: ROI crop + colour conversion + resize (bilinear, nearest or area;
// stretch or letterbox) + normalisation + output conversion, in one pass over the output.
//
// Every path shares one geometry (the tap tables built in build_plan), so the scalar
// reference and the fast paths differ only in arithmetic order:
//  - kReference: per output pixel, per tap, through load_rgb(). Simple and slow; the oracle.
//  - kPortable: separable (horizontal pass per source row, cached, then vertical blend fused
//    with normalisation and the store); plain C++ that the compiler vectorises, any CPU.
//  - kAvx2: the same structure with AVX2 gathers for the horizontal pass (x86-64 only).
//  - kAvx512: AVX-512 VBMI byte permutes instead of the gathers (x86-64 only).
// kAuto picks the first of kAvx512, kAvx2, kPortable that the CPU runs. Output rows are split
// into bands over a ThreadPool when one is attached and the image is large enough.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/image.h"
#include "core/status.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace vas {

enum class ResizeMode { kStretch, kLetterbox };
enum class ColorOrder { kRGB, kBGR };
enum class Interp { kBilinear = 0, kNearest = 1, kArea = 2 };

// A region of the source image in pixels; an empty rect (width or height 0) means the whole
// image. For NV12/NV21/I420 x, y, width and height must be even.
struct Rect {
  int x = 0, y = 0, width = 0, height = 0;
  bool empty() const { return width == 0 || height == 0; }
};

struct PreprocessSpec {
  int width = 0;  // network input size
  int height = 0;
  ResizeMode mode = ResizeMode::kStretch;
  ColorOrder color = ColorOrder::kRGB;
  // value = (pixel * scale - mean[c]) / std[c], channels in the `color` order.
  float scale = 1.0f / 255.0f;
  float mean[3] = {0, 0, 0};
  float std[3] = {1, 1, 1};
  uint8_t pad_value = 114;  // letterbox border, in pixel units before normalisation
  // Fields below were added later; their defaults keep the original behaviour.
  Interp interp = Interp::kBilinear;  // kArea is for down-scaling (bilinear on up-scaled axes)
  Layout layout = Layout::kNCHW;
  DataType dtype = DataType::kFloat32;  // kFloat32, kFloat16, kUInt8 or kInt8
  // kUInt8/kInt8: q = saturate(round(value / quant_scale) + zero_point).
  float quant_scale = 1.0f;
  int zero_point = 0;
  Rect roi;  // crop before resizing (second-stage models); empty = whole image
};

// Maps network-input coordinates back to source-image coordinates: src = (x - offset) / scale.
// With a ROI the offset already includes the ROI origin, so results land in the full image.
struct BoxTransform {
  float scale_x = 1, scale_y = 1;
  float offset_x = 0, offset_y = 0;
  float to_src_x(float x) const { return (x - offset_x) / scale_x; }
  float to_src_y(float y) const { return (y - offset_y) / scale_y; }
};

// Converts one pixel of any supported format to 8-bit R, G, B (BT.601 limited range for YUV,
// matching OpenCV's COLOR_YUV2RGB_NV12/NV21/I420 exactly).
void load_rgb(const ImageView& img, int x, int y, uint8_t rgb[3]);

// Bytes of one preprocessed image for `spec` (3 * width * height elements of spec.dtype).
size_t preprocess_output_bytes(const PreprocessSpec& spec);

// Checks the spec alone; the message names the field.
Status validate_spec(const PreprocessSpec& spec);

namespace detail {
struct Plan;
}

// Reusable preprocessor: caches the plan (tap tables, content rectangle) for the last
// (source size, spec) pair and its scratch rows, so steady-state calls allocate nothing.
// Thread safety: one thread at a time per object (create one per worker); the attached
// ThreadPool is borrowed and may be shared by objects used from the same thread.
class Preprocessor {
 public:
  enum class Impl { kAuto, kReference, kPortable, kAvx2, kAvx512, kNeon };

  Preprocessor();
  // threads > 1 creates an owned ThreadPool of that size.
  explicit Preprocessor(int threads, Impl impl = Impl::kAuto);
  ~Preprocessor();
  Preprocessor(Preprocessor&&) noexcept;
  Preprocessor& operator=(Preprocessor&&) noexcept;

  // kUnsupported when kAvx2 / kAvx512 / kNeon is asked for on a CPU (or build) without it.
  Status set_impl(Impl impl);
  Impl impl() const { return impl_; }
  Impl resolved_impl() const;  // what kAuto stands for on this CPU
  static bool avx2_available();
  static bool avx512_available();  // AVX-512 F, BW, VL and VBMI, plus AVX2 and FMA
  static bool neon_available();    // AArch64 builds
  // Borrowed; nullptr runs on the calling thread only. Replaces an owned pool.
  void set_thread_pool(ThreadPool* pool);
  int threads() const { return pool_ ? pool_->threads() : 1; }

  // dst must hold preprocess_output_bytes(spec) bytes, aligned to its element size.
  Status run(const ImageView& src, const PreprocessSpec& spec, void* dst, size_t dst_bytes,
             BoxTransform* tf);
  // The original float32 entry point: dst holds 3 * spec.height * spec.width floats and
  // spec.dtype must be kFloat32.
  Status run(const ImageView& src, const PreprocessSpec& spec, float* dst, BoxTransform* tf);
  // Packs n images into one batch tensor: image i goes to dst + i * preprocess_output_bytes.
  // tfs (optional) receives n transforms. Images may differ in size and format.
  Status run_batch(const ImageView* images, int n, const PreprocessSpec& spec, void* dst,
                   size_t dst_bytes, BoxTransform* tfs);

 private:
  Status prepare(const ImageView& src, const PreprocessSpec& spec, ImageView* cropped);
  void execute(const ImageView& src, void* dst);
  int band_count(int width, int height) const;

  Impl impl_ = Impl::kAuto;
  std::unique_ptr<ThreadPool> owned_pool_;
  ThreadPool* pool_ = nullptr;
  std::unique_ptr<detail::Plan> plan_;
};

}  // namespace vas
