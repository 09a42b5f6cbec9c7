// Drawing primitives and the annotated-video writer (encode, read back, permissions).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/draw.h"
#include "io/annotated_video.h"
#include "io/video_reader.h"

namespace vas {
namespace {

struct Img {
  int w, h;
  std::vector<uint8_t> px;
  Img(int w_, int h_, uint8_t v = 0) : w(w_), h(h_), px(static_cast<size_t>(w_) * h_ * 3, v) {}
  Canvas canvas() { return {px.data(), w, h, w * 3}; }
  const uint8_t* at(int x, int y) const { return &px[(static_cast<size_t>(y) * w + x) * 3]; }
  bool is(int x, int y, Color c) const {
    const uint8_t* p = at(x, y);
    return p[0] == c.b && p[1] == c.g && p[2] == c.r;
  }
  int count(Color c) const {
    int n = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) n += is(x, y, c);
    return n;
  }
};

const Color kRed{0, 0, 255};

TEST(Draw, LinesAndRectsClipToTheCanvas) {
  Img img(40, 30);
  draw_line(img.canvas(), {-100, 10}, {500, 10}, kRed);
  for (int x = 0; x < 40; ++x) EXPECT_TRUE(img.is(x, 10, kRed)) << x;
  EXPECT_EQ(img.count(kRed), 40);
  draw_rect(img.canvas(), 5, 5, 15, 20, kRed);
  EXPECT_TRUE(img.is(5, 15, kRed) && img.is(15, 15, kRed) && img.is(10, 20, kRed));
  EXPECT_TRUE(img.is(10, 15, {0, 0, 0}));  // the inside stays untouched
  // Far outside, NaN and degenerate inputs draw nothing and do not crash.
  Img other(8, 8);
  draw_line(other.canvas(), {-1e9f, -1e9f}, {-1e8f, -5}, kRed, 5);
  draw_line(other.canvas(), {std::nanf(""), 0}, {3, 3}, kRed);
  draw_polyline(other.canvas(), {}, true, kRed);
  EXPECT_EQ(other.count(kRed), 0);
  draw_line(Canvas{}, {0, 0}, {5, 5}, kRed);
}

TEST(Draw, TextUsesTheBitmapFontAndABackground) {
  Img img(60, 20);
  draw_text(img.canvas(), 2, 2, "1", kRed);
  // '1' is 0x04,0x0C,0x04,... : the stem is column 2 of the glyph on every row but the last.
  for (int row = 0; row < 6; ++row) EXPECT_TRUE(img.is(2 + 2, 2 + row, kRed)) << row;
  EXPECT_FALSE(img.is(2, 2, kRed));
  EXPECT_EQ(text_width("ab", 1), 11);
  EXPECT_EQ(text_width("ab", 2), 22);
  Img lower(60, 20), upper(60, 20);
  draw_text(lower.canvas(), 0, 0, "door", kRed);
  draw_text(upper.canvas(), 0, 0, "DOOR", kRed);
  EXPECT_EQ(lower.px, upper.px);
  const Color back{9, 9, 9};
  Img boxed(60, 20);
  draw_text(boxed.canvas(), 3, 3, "~", kRed, 1, &back);  // unknown glyph: '?' on a box
  EXPECT_GT(boxed.count(back), 0);
  EXPECT_GT(boxed.count(kRed), 0);
}

TEST(Draw, IdColoursDifferForNeighbours) {
  for (int64_t id = 0; id < 50; ++id) {
    const Color a = id_color(id), b = id_color(id + 1);
    EXPECT_TRUE(a.b != b.b || a.g != b.g || a.r != b.r) << id;
  }
}

TEST(AnnotatedVideo, WritesFramesWithBoxesPrivately) {
  const std::string dir = ::testing::TempDir() + "vas_annot_" + std::to_string(::getpid());
  const std::string path = dir + "/cam1.mp4";
  std::filesystem::remove_all(dir);
  AnnotatedVideoOptions opt;
  opt.fps = 10;
  opt.writer.codec = "libx264";
  auto w = AnnotatedVideo::open(path, 161, 120, opt);  // odd width: encoded as 160
  ASSERT_TRUE(w.is_ok()) << w.status().message();
  Img frame(161, 120, 40);
  AnnotationOverlay ov;
  ov.lines.push_back({"door", {0, 60}, {160, 60}});
  ov.zones.push_back({"yard", {{10, 10}, {60, 10}, {60, 40}}});
  for (int i = 0; i < 12; ++i) {
    AnnotatedObject o;
    o.track_id = 7;
    o.label = "person";
    o.box[0] = 40.0f + 4 * i;
    o.box[1] = 30;
    o.box[2] = 80.0f + 4 * i;
    o.box[3] = 100;
    ASSERT_TRUE(
        w.value()
            ->write(ImageView::packed(PixelFormat::kBGR24, 161, 120, frame.px.data(), 161 * 3), {o},
                    ov, {"door in 1 out 0"})
            .is_ok());
  }
  EXPECT_EQ(frame.count({40, 40, 40}), 161 * 120);  // the caller's frame is not drawn on
  const Img gray(4, 4, 0);
  EXPECT_EQ(w.value()
                ->write(ImageView::packed(PixelFormat::kGRAY8, 4, 4, gray.px.data(), 4), {}, ov, {})
                .code(),
            StatusCode::kUnsupported);
  ASSERT_TRUE(w.value()->close().is_ok());
  EXPECT_EQ(w.value()->frames_written(), 12);

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto r = VideoReader::open(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r.value()->info().width, 160);
  Frame f;
  int n = 0, drawn = 0;
  while (r.value()->read(&f).is_ok()) {
    ++n;
    // The line across row 60 is yellow (B low, G and R high) after encoding.
    const uint8_t* p = f.image.planes[0] + 60 * f.image.strides[0] + 150 * 3;
    drawn += p[0] < 120 && p[1] > 160 && p[2] > 160;
  }
  EXPECT_EQ(n, 12);
  EXPECT_EQ(drawn, 12);
  std::filesystem::remove_all(dir);
}

TEST(AnnotatedVideo, BadArgumentsAreErrors) {
  EXPECT_EQ(AnnotatedVideo::open(::testing::TempDir() + "x.mp4", 1, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(AnnotatedVideo::open("/proc/no/such/dir/x.mp4", 64, 64).is_ok());
}

}  // namespace
}  // namespace vas
