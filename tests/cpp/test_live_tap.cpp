// LiveTap: nothing is drawn or encoded without a viewer, readers get the newest JPEG, a busy tap
// skips frames instead of queueing them, and closing wakes every reader.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "pipeline/live_tap.h"

namespace vas {
namespace {

Image gray_frame(int w, int h, uint8_t v) {
  Image img;
  img.width = w;
  img.height = h;
  img.data.assign(static_cast<size_t>(w) * h * 3, v);
  return img;
}

LiveOverlay overlay_at(int64_t frame) {
  LiveOverlay ov;
  ov.frame = frame;
  ov.capture_us = 1000 + frame;
  AnnotatedObject o;
  o.track_id = 7;
  o.label = "person";
  o.box[0] = 10;
  o.box[1] = 10;
  o.box[2] = 40;
  o.box[3] = 60;
  ov.objects.push_back(o);
  ov.geometry.lines.push_back({"door", {0, 30}, {63, 30}});
  ov.hud.push_back("door in 1 out 0");
  return ov;
}

// Offers frames as the worker does (only when the tap wants one) until `n` were taken.
int offer_until(LiveTap& tap, const Image& img, int n, int64_t* frame) {
  int taken = 0;
  for (int i = 0; i < 2000 && taken < n; ++i) {
    if (tap.wants_frame()) {
      tap.offer(img.view(), overlay_at((*frame)++));
      ++taken;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return taken;
}

TEST(LiveTap, NothingWithoutAViewer) {
  LiveTap tap("cam");
  EXPECT_FALSE(tap.wants_frame());
  EXPECT_EQ(tap.viewers(), 0);
  auto r = tap.next(0, 20);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout);
  EXPECT_EQ(tap.encoded(), 0u);
  // Unwatching with no viewer is refused, not counted below zero.
  EXPECT_EQ(tap.watch(false).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tap.viewers(), 0);
}

TEST(LiveTap, ViewerGetsAnnotatedJpegs) {
  LiveTap tap("cam");
  ASSERT_TRUE(tap.watch(true).is_ok());
  EXPECT_TRUE(tap.wants_frame());
  const Image img = gray_frame(64, 48, 90);
  int64_t frame = 0;
  ASSERT_EQ(offer_until(tap, img, 1, &frame), 1);
  auto r = tap.next(0, 2000);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const LiveFrame f = r.value();
  ASSERT_TRUE(f.jpeg);
  ASSERT_GT(f.jpeg->size(), 100u);
  EXPECT_EQ((*f.jpeg)[0], 0xFF);  // SOI marker
  EXPECT_EQ((*f.jpeg)[1], 0xD8);
  EXPECT_EQ(f.width, 64);
  EXPECT_EQ(f.height, 48);
  EXPECT_EQ(f.frame, 0);
  EXPECT_EQ(f.capture_us, 1000);
  // The same seq again: nothing newer yet.
  EXPECT_EQ(tap.next(f.seq, 20).status().code(), StatusCode::kTimeout);
  ASSERT_EQ(offer_until(tap, img, 1, &frame), 1);
  auto r2 = tap.next(f.seq, 2000);
  ASSERT_TRUE(r2.is_ok());
  EXPECT_GT(r2.value().seq, f.seq);
  EXPECT_EQ(tap.encoded(), 2u);
  // The last viewer leaving stops the drawing and forgets the picture.
  ASSERT_TRUE(tap.watch(false).is_ok());
  EXPECT_FALSE(tap.wants_frame());
  EXPECT_EQ(tap.next(0, 20).status().code(), StatusCode::kTimeout);
}

TEST(LiveTap, BusyTapSkipsFramesAndReadersGetTheNewest) {
  LiveTap tap("cam");
  ASSERT_TRUE(tap.watch(true).is_ok());
  const Image img = gray_frame(1280, 720, 40);  // big enough that encoding takes a while
  int offered = 0, refused = 0;
  int64_t frame = 0;
  for (int i = 0; i < 200; ++i) {
    if (tap.wants_frame()) {
      tap.offer(img.view(), overlay_at(frame));
      ++offered;
    } else {
      ++refused;  // the worker goes on at once: the camera's frame is not held up
    }
    ++frame;
  }
  EXPECT_GT(refused, 0);
  EXPECT_GE(offered, 1);
  auto r = tap.next(0, 3000);
  ASSERT_TRUE(r.is_ok());
  EXPECT_LE(r.value().seq, static_cast<uint64_t>(offered));
}

TEST(LiveTap, CloseWakesWaitingReadersConcurrently) {
  LiveTap tap("cam");
  ASSERT_TRUE(tap.watch(true).is_ok());
  std::atomic<int> gone{0};
  std::vector<std::thread> readers;
  readers.reserve(4);
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      if (tap.next(0, 10000).status().code() == StatusCode::kNotFound) ++gone;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto t0 = std::chrono::steady_clock::now();
  tap.close();
  for (auto& t : readers) t.join();
  EXPECT_EQ(gone.load(), 4);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(tap.watch(true).code(), StatusCode::kNotFound);
  EXPECT_FALSE(tap.wants_frame());
}

}  // namespace
}  // namespace vas
