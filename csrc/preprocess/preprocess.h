// Fused preprocessing: colour conversion + bilinear resize (stretch or letterbox) +
// normalisation into a float32 NCHW planar tensor, in one pass over the output.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"
#include "core/status.h"

namespace vas {

enum class ResizeMode { kStretch, kLetterbox };
enum class ColorOrder { kRGB, kBGR };

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
};

// Maps network-input coordinates back to source-image coordinates: src = (x - offset) / scale.
struct BoxTransform {
  float scale_x = 1, scale_y = 1;
  float offset_x = 0, offset_y = 0;
  float to_src_x(float x) const { return (x - offset_x) / scale_x; }
  float to_src_y(float y) const { return (y - offset_y) / scale_y; }
};

// Converts one pixel of any supported format to 8-bit R, G, B (BT.601 limited range for YUV,
// matching OpenCV's COLOR_YUV2RGB_NV12/NV21/I420 to within 1 LSB).
void load_rgb(const ImageView& img, int x, int y, uint8_t rgb[3]);

// Reusable preprocessor: caches the resize tables for the last (source size, spec) pair, so
// steady-state calls do no heap allocation. Not thread-safe; one per worker.
class Preprocessor {
 public:
  // dst must hold 3 * spec.height * spec.width floats (planar, channel-major).
  Status run(const ImageView& src, const PreprocessSpec& spec, float* dst, BoxTransform* tf);

 private:
  struct Tap {
    int i0, i1;
    float w1;  // weight of i1; i0 gets 1 - w1
  };
  void build_tables(int src_w, int src_h, const PreprocessSpec& spec);

  int cached_src_w_ = -1, cached_src_h_ = -1;
  PreprocessSpec cached_spec_{};
  BoxTransform tf_{};
  int content_x0_ = 0, content_y0_ = 0, content_w_ = 0, content_h_ = 0;
  std::vector<Tap> xtaps_, ytaps_;
};

}  // namespace vas
