// Corrupt macroblocks on the codec grid (select/block_grid.h): a 16x16 block pasted from the
// wrong place is found against clean neighbours, while grid-aligned edges the neighbours share,
// blocks only one side of which breaks, and sides no neighbour stored are not.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "select/block_grid.h"
#include "select/quality.h"

namespace vas {
namespace {

// A smooth BGR texture: neighbouring pixels differ by a few levels, far-apart ones by many.
Image texture(int w, int h) {
  Image img;
  img.width = w;
  img.height = h;
  img.data.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        const double v = 128 + 90 * std::sin(x / (6.0 + c)) * std::cos(y / (7.0 + c));
        img.data[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>(std::lround(v));
      }
  return img;
}

// The 16x16 block at (bx, by) becomes a copy of the one at (sx, sy): a corrupt motion vector.
void paste(Image* img, int bx, int by, int sx, int sy) {
  const Image src = *img;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) {
        const size_t to = (static_cast<size_t>(by + y) * img->width + bx + x) * 3 + c;
        img->data[to] = src.data[(static_cast<size_t>(sy + y) * img->width + sx + x) * 3 + c];
      }
}

CropPixels capture(const Image& img, const Rect& box, const Rect* crop = nullptr) {
  CropPixels px;
  capture_pixels(img.view(), box, &px, crop);
  return px;
}

TEST(Quality, NovelBlocksFindsABlockPastedFromElsewhere) {
  const Image clean = texture(320, 240);
  Image bad = clean;
  paste(&bad, 112, 96, 171, 150);
  const Rect box{100, 80, 150, 140};
  const CropPixels c = capture(clean, box), d = capture(bad, box);
  EXPECT_EQ(novel_blocks(c, c, &c), 0);
  EXPECT_EQ(novel_blocks(d, c, &c), 1);
  EXPECT_EQ(novel_blocks(d, c, nullptr), 1) << "one reference is enough";
  EXPECT_EQ(novel_blocks(d, d, &c), 0) << "one neighbour has the same block";
}

// The block can sit in the crop's margin, or straddle the box's edge of a narrow box.
TEST(Quality, NovelBlocksReadsTheMarginOfANarrowBox) {
  const Image clean = texture(320, 240);
  Image bad = clean;
  paste(&bad, 128, 64, 60, 160);  // above-left of the box, inside its crop
  const Rect box{140, 78, 150, 110};
  const Rect crop{138, 73, 152, 115};
  const CropPixels c = capture(clean, box, &crop), d = capture(bad, box, &crop);
  EXPECT_EQ(novel_blocks(d, c, &c), 1);
  EXPECT_EQ(novel_blocks(capture(bad, box), c, &c), 0) << "the box alone does not reach it";
}

// An edge of the scene on a grid line is broken on every frame, so the neighbours vouch for
// it; a step on one side of a block only is no pasted block.
TEST(Quality, NovelBlocksIgnoresSharedEdgesAndSingleSides) {
  Image edge = texture(320, 240);
  for (int y = 0; y < 240; ++y)
    for (int x = 128; x < 320; ++x)
      for (int c = 0; c < 3; ++c) {
        uint8_t& v = edge.data[(static_cast<size_t>(y) * 320 + x) * 3 + c];
        v = static_cast<uint8_t>(v / 4 + 180);
      }
  const Rect box{100, 80, 150, 140};
  const CropPixels e = capture(edge, box);
  EXPECT_EQ(novel_blocks(e, e, &e), 0);
  // The same edge in the current frame only: each block along it has one broken side.
  const CropPixels c = capture(texture(320, 240), box);
  EXPECT_EQ(novel_blocks(e, c, &c), 0);
}

// A side that neither reference stored (they saw the object elsewhere) says nothing.
TEST(Quality, NovelBlocksNeedsAReferenceThatSawTheSide) {
  const Image clean = texture(320, 240);
  Image bad = clean;
  paste(&bad, 112, 96, 171, 150);
  const CropPixels d = capture(bad, Rect{100, 80, 150, 140});
  const CropPixels far = capture(clean, Rect{220, 150, 270, 210});
  EXPECT_EQ(novel_blocks(d, far, &far), 0);
  EXPECT_EQ(novel_blocks(CropPixels{}, far, nullptr), 0);
  EXPECT_EQ(novel_blocks(d, CropPixels{}, nullptr), 0);
}

}  // namespace
}  // namespace vas
