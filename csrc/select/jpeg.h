// JPEG encoding of best-shot crops with libjpeg-turbo's TurboJPEG API, plus the crop copy that
// feeds it. A JpegEncoder keeps one compressor handle; one instance per channel, one call at a
// time.
#pragma once

#include <cstdint>
#include <vector>

#include "core/image.h"
#include "core/status.h"
#include "select/quality.h"

namespace vas {

// Copies rect of image as BGR24 rows into dst (dst_stride bytes apart), converting from RGB,
// GRAY8 or YUV 4:2:0 (BT.601 limited range). rect must lie inside the image.
void copy_crop_bgr(const ImageView& image, const Rect& rect, uint8_t* dst, int dst_stride);
// The same into an owning image (resized; its buffer is reused).
void copy_crop_bgr(const ImageView& image, const Rect& rect, Image* out);

class JpegEncoder {
 public:
  JpegEncoder() = default;
  ~JpegEncoder();
  JpegEncoder(const JpegEncoder&) = delete;
  JpegEncoder& operator=(const JpegEncoder&) = delete;

  // Encodes a BGR24 image (rows may be padded) at quality 1..100 (4:2:0 subsampling) into
  // *out (replaced).
  Status encode(const ImageView& bgr, int quality, std::vector<uint8_t>* out);

 private:
  void* handle_ = nullptr;  // tjhandle, created on first use
};

}  // namespace vas
