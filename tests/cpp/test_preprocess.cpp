#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "preprocess/preprocess.h"

namespace vas {
namespace {

std::vector<uint8_t> random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(Preprocess, SameSizeStretchIsExactChannelSwapAndScale) {
  const int w = 37, h = 23, stride = w * 3 + 5;  // odd size, padded rows
  auto buf = random_bytes(static_cast<size_t>(stride) * h, 1);
  ImageView img = ImageView::packed(PixelFormat::kBGR24, w, h, buf.data(), stride);
  PreprocessSpec spec;
  spec.width = w;
  spec.height = h;
  std::vector<float> out(3 * w * h);
  Preprocessor pre;
  BoxTransform tf;
  ASSERT_TRUE(pre.run(img, spec, out.data(), &tf).is_ok());
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = buf.data() + y * stride + 3 * x;
      EXPECT_FLOAT_EQ(out[0 * w * h + y * w + x], p[2] / 255.0f);  // R
      EXPECT_FLOAT_EQ(out[1 * w * h + y * w + x], p[1] / 255.0f);
      EXPECT_FLOAT_EQ(out[2 * w * h + y * w + x], p[0] / 255.0f);
    }
  }
  EXPECT_FLOAT_EQ(tf.scale_x, 1.0f);
  EXPECT_FLOAT_EQ(tf.offset_y, 0.0f);
}

TEST(Preprocess, LetterboxMapsBoxesBackExactly) {
  const int w = 200, h = 100;
  std::vector<uint8_t> buf(w * h * 3, 255);
  ImageView img = ImageView::packed(PixelFormat::kRGB24, w, h, buf.data(), w * 3);
  PreprocessSpec spec;
  spec.width = 64;
  spec.height = 64;
  spec.mode = ResizeMode::kLetterbox;
  spec.pad_value = 0;
  std::vector<float> out(3 * 64 * 64);
  Preprocessor pre;
  BoxTransform tf;
  ASSERT_TRUE(pre.run(img, spec, out.data(), &tf).is_ok());
  EXPECT_FLOAT_EQ(tf.scale_x, 64.0f / 200);
  EXPECT_FLOAT_EQ(tf.offset_x, 0.0f);
  EXPECT_FLOAT_EQ(tf.offset_y, 16.0f);
  EXPECT_FLOAT_EQ(tf.to_src_x(64.0f), 200.0f);
  EXPECT_FLOAT_EQ(tf.to_src_y(16.0f), 0.0f);
  EXPECT_FLOAT_EQ(tf.to_src_y(48.0f), 100.0f);
  EXPECT_FLOAT_EQ(out[0], 0.0f);             // pad row
  EXPECT_FLOAT_EQ(out[32 * 64 + 32], 1.0f);  // content
}

TEST(Preprocess, Nv12MatchesBgrOfTheSameColour) {
  // Flat mid-grey in YUV (Y=126, U=V=128) is RGB 128 within 1 LSB.
  const int w = 16, h = 8;
  std::vector<uint8_t> y(w * h, 126), uv(w * h / 2, 128);
  ImageView img;
  img.format = PixelFormat::kNV12;
  img.width = w;
  img.height = h;
  img.planes[0] = y.data();
  img.planes[1] = uv.data();
  img.strides[0] = img.strides[1] = w;
  uint8_t rgb[3];
  load_rgb(img, 5, 3, rgb);
  for (uint8_t c : rgb) EXPECT_NEAR(c, 128, 1);
}

TEST(Preprocess, RejectsBadInput) {
  Preprocessor pre;
  PreprocessSpec spec;
  spec.width = spec.height = 8;
  std::vector<float> out(3 * 64);
  std::vector<uint8_t> buf(48);
  ImageView img = ImageView::packed(PixelFormat::kBGR24, 4, 4, buf.data(), 12);
  EXPECT_EQ(pre.run(img, spec, nullptr, nullptr).code(), StatusCode::kInvalidArgument);
  img.strides[0] = 11;
  EXPECT_EQ(pre.run(img, spec, out.data(), nullptr).code(), StatusCode::kInvalidArgument);
  img.strides[0] = 12;
  spec.width = 0;
  EXPECT_EQ(pre.run(img, spec, out.data(), nullptr).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vas
