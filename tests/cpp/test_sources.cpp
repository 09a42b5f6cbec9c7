// Tests for core/frame.h, VideoReader::read(Pool&, VideoFrame*) and the file sources of
// io/source.h (loop, real-time pacing, pool exhaustion, corrupt and truncated files, config).
// RTSP sources against a real server are in test_sources_rtsp.cpp.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/frame.h"
#include "core/pool.h"
#include "io/source.h"
#include "io/source_internal.h"
#include "io/video_reader.h"
#include "test_util.h"

namespace vas {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Bytes of a BGR24 frame as PooledImage lays it out (rows padded to 64 bytes).
size_t bgr_block(int w, int h) { return static_cast<size_t>((w * 3 + 63) / 64 * 64) * h; }

std::unique_ptr<Pool> frame_pool(int w, int h, size_t frames) {
  auto pool = Pool::create_block_pool("frames", bgr_block(w, h), frames);
  EXPECT_TRUE(pool.is_ok()) << pool.status().message();
  return std::move(pool).value();
}

bool same_pixels(const ImageView& a, const ImageView& b) {
  if (a.width != b.width || a.height != b.height || a.format != b.format) return false;
  for (int y = 0; y < a.height; ++y) {
    if (std::memcmp(a.planes[0] + static_cast<size_t>(y) * a.strides[0],
                    b.planes[0] + static_cast<size_t>(y) * b.strides[0],
                    static_cast<size_t>(a.width) * 3) != 0) {
      return false;
    }
  }
  return true;
}

struct EventLog {
  std::vector<SourceEvent> events;
  SourceEventCallback callback() {
    return [this](const SourceEvent& e) { events.push_back(e); };
  }
  int count(SourceEvent::Kind kind) const {
    return static_cast<int>(std::count_if(events.begin(), events.end(),
                                          [&](const SourceEvent& e) { return e.kind == kind; }));
  }
};

class SourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vasdk_test_sources_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << "mkdtemp failed for " << tmpl;
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // 20 frames of FFmpeg's test pattern at 160x120, 10 fps (the ffmpeg CLI is set up with the
  // FFmpeg libraries by scripts/setup.sh).
  std::string make_clip(const std::string& name) {
    const std::string out = path(name);
    const std::string cmd =
        "timeout 60 ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "
        "testsrc=size=160x120:rate=10 -frames:v 20 -c:v libx264 -pix_fmt yuv420p '" +
        out + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return out;
  }

  fs::path dir_;
};

TEST(VideoFrameTest, WrapExternalReleasesOnceWhenTheLastCopyGoes) {
  std::vector<uint8_t> pixels(8 * 4 * 3, 7);
  int released = 0;
  const ImageView view = ImageView::packed(PixelFormat::kBGR24, 8, 4, pixels.data(), 24);
  auto frame = VideoFrame::wrap_external(view, [&] { ++released; });
  ASSERT_TRUE(frame.is_ok()) << frame.status().message();
  VideoFrame copy = frame.value();
  EXPECT_FALSE(copy.empty());
  frame.value().reset();
  EXPECT_EQ(released, 0);
  copy.reset();
  EXPECT_EQ(released, 1);
  EXPECT_TRUE(copy.empty());

  auto no_release = VideoFrame::wrap_external(view, nullptr);
  EXPECT_EQ(no_release.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_release.status().message().find("release"), std::string::npos);
}

TEST(VideoFrameTest, CopyOfOwnsAPoolBlock) {
  std::vector<uint8_t> pixels(10 * 6 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 13);
  const ImageView view = ImageView::packed(PixelFormat::kBGR24, 10, 6, pixels.data(), 30);
  auto pool = frame_pool(10, 6, 1);
  auto frame = VideoFrame::copy_of(*pool, view);
  ASSERT_TRUE(frame.is_ok()) << frame.status().message();
  EXPECT_TRUE(same_pixels(frame->view, view));
  EXPECT_EQ(frame->view.strides[0], 64);
  EXPECT_EQ(pool->outstanding(), 1u);
  EXPECT_EQ(VideoFrame::copy_of(*pool, view).status().code(), StatusCode::kPoolExhausted);
  frame.value().reset();
  EXPECT_EQ(pool->outstanding(), 0u);
}

TEST(TimestampRebaserTest, NeverGoesBackwards) {
  source_detail::TimestampRebaser r;
  r.set_fps(25.0);
  EXPECT_EQ(r.map(1000000), 1000000);  // the stream's own time until something breaks
  EXPECT_EQ(r.map(1040000), 1040000);
  EXPECT_EQ(r.map(1120000), 1120000);  // a dropped frame keeps its gap
  EXPECT_EQ(r.map(0), 1160000);        // PTS restarted: one interval after the last output
  EXPECT_EQ(r.map(40000), 1200000);    // and the stream's spacing from there
  EXPECT_EQ(r.map(40000), 1240000);    // a repeated PTS still moves forward
  EXPECT_EQ(r.map(-1), 1280000);       // unknown PTS
  r.discontinuity();                   // a reconnect, even with a PTS that looks plausible
  EXPECT_EQ(r.map(5000000), 1320000);
  EXPECT_EQ(r.map(5040000), 1360000);

  source_detail::TimestampRebaser unknown_rate;  // no nominal rate: the observed spacing
  EXPECT_EQ(unknown_rate.map(0), 0);
  EXPECT_EQ(unknown_rate.map(100000), 100000);
  EXPECT_EQ(unknown_rate.map(0), 200000);
}

TEST(ReconnectDelayTest, ExponentialWithJitterAndCapped) {
  SourceConfig c;
  c.reconnect_initial_ms = 500;
  c.reconnect_max_ms = 10000;
  using source_detail::reconnect_delay_ms;
  EXPECT_EQ(reconnect_delay_ms(c, 0, 0.5), 500);  // jitter factor 1.0 in the middle
  EXPECT_EQ(reconnect_delay_ms(c, 1, 0.5), 1000);
  EXPECT_EQ(reconnect_delay_ms(c, 3, 0.5), 4000);
  EXPECT_EQ(reconnect_delay_ms(c, 0, 0.0), 400);        // -20 %
  EXPECT_EQ(reconnect_delay_ms(c, 2, 0.999999), 2399);  // almost +20 %
  EXPECT_EQ(reconnect_delay_ms(c, 5, 0.0), 8000);       // 16 s capped at 10 s, then jittered
  EXPECT_EQ(reconnect_delay_ms(c, 5, 0.99), 10000);     // never above the cap
  EXPECT_EQ(reconnect_delay_ms(c, 1000, 0.5), 10000);   // no overflow for long outages
}

TEST_F(SourcesTest, PoolReadMatchesBorrowedReadAndOutlivesTheReader) {
  const std::string clip = testing::asset("vtest.avi");
  auto ref = VideoReader::open(clip);
  auto pooled = VideoReader::open(clip);
  ASSERT_TRUE(ref.is_ok() && pooled.is_ok()) << ref.status().message();
  auto pool = frame_pool(768, 576, 3);
  std::vector<VideoFrame> kept;
  for (int i = 0; i < 3; ++i) {
    Frame f;
    VideoFrame v;
    ASSERT_TRUE(ref.value()->read(&f).is_ok());
    ASSERT_TRUE(pooled.value()->read(*pool, &v).is_ok());
    EXPECT_EQ(v.index, f.index);
    EXPECT_EQ(v.pts_us, f.pts_us);
    EXPECT_EQ(v.ts_us, v.pts_us);
    EXPECT_GT(v.capture_us, 1600000000000000);  // wall clock, after 2020
    EXPECT_TRUE(same_pixels(v.view, f.image)) << "frame " << i;
    kept.push_back(std::move(v));
  }
  pooled.value().reset();  // the frames own their pixels
  Frame f;
  ASSERT_TRUE(ref.value()->read(&f).is_ok());
  EXPECT_FALSE(same_pixels(kept[0].view, f.image));
  EXPECT_EQ(pool->outstanding(), 3u);
  kept.clear();
  EXPECT_EQ(pool->outstanding(), 0u);
}

TEST_F(SourcesTest, PoolExhaustionKeepsTheFrame) {
  const std::string clip = testing::asset("vtest.avi");
  auto ref = VideoReader::open(clip);
  ASSERT_TRUE(ref.is_ok());
  std::vector<std::vector<uint8_t>> ref_frames;
  for (int i = 0; i < 4; ++i) {
    Frame f;
    ASSERT_TRUE(ref.value()->read(&f).is_ok());
    ref_frames.emplace_back(f.image.planes[0], f.image.planes[0] + 768 * 576 * 3);
  }
  SourceConfig config;
  config.url = clip;
  auto source = open_source(config);
  ASSERT_TRUE(source.is_ok()) << source.status().message();
  auto pool = frame_pool(768, 576, 2);
  VideoFrame a, b, c;
  ASSERT_TRUE(source.value()->read(*pool, &a).is_ok());
  ASSERT_TRUE(source.value()->read(*pool, &b).is_ok());
  for (int i = 0; i < 3; ++i) {  // repeated refusals consume nothing either
    const Status s = source.value()->read(*pool, &c);
    EXPECT_EQ(s.code(), StatusCode::kPoolExhausted) << s.message();
    EXPECT_NE(s.message().find("pool 'frames'"), std::string::npos) << s.message();
    EXPECT_TRUE(c.empty());
  }
  SourceStats st = source.value()->stats();
  EXPECT_EQ(st.frames, 2u);
  EXPECT_EQ(st.pool_exhausted, 3u);
  a.reset();
  ASSERT_TRUE(source.value()->read(*pool, &c).is_ok());
  EXPECT_EQ(c.index, 2);
  EXPECT_EQ(c.pts_us, 200000);
  const ImageView expect =
      ImageView::packed(PixelFormat::kBGR24, 768, 576, ref_frames[2].data(), 768 * 3);
  EXPECT_TRUE(same_pixels(c.view, expect));
  b.reset();
  VideoFrame d;
  ASSERT_TRUE(source.value()->read(*pool, &d).is_ok());
  EXPECT_EQ(d.index, 3);
  EXPECT_EQ(source.value()->stats().frames, 4u);
}

TEST_F(SourcesTest, FileLoopKeepsIndexAndTimestampsMonotonic) {
  SourceConfig config;
  config.url = "file://" + make_clip("loop.mp4");
  config.loop = true;
  auto source = open_source(config);
  ASSERT_TRUE(source.is_ok()) << source.status().message();
  EXPECT_DOUBLE_EQ(source.value()->fps(), 10.0);
  auto pool = frame_pool(160, 120, 2);
  int64_t last_ts = -1;
  for (int i = 0; i < 50; ++i) {
    VideoFrame f;
    const Status s = source.value()->read(*pool, &f);
    ASSERT_TRUE(s.is_ok()) << "frame " << i << ": " << s.message();
    EXPECT_EQ(f.index, i);
    EXPECT_EQ(f.pts_us, (i % 20) * 100000) << "frame " << i;
    // One frame interval apart everywhere, also where the file starts again.
    if (last_ts >= 0) {
      EXPECT_EQ(f.ts_us - last_ts, 100000) << "frame " << i;
    }
    last_ts = f.ts_us;
  }
  const SourceStats st = source.value()->stats();
  EXPECT_EQ(st.loops, 2u);
  EXPECT_EQ(st.frames, 50u);
}

TEST_F(SourcesTest, RealtimePacingFollowsTheFrameRate) {
  SourceConfig config;
  config.url = make_clip("paced.mp4");
  config.realtime = true;
  config.loop = true;
  auto source = open_source(config);
  ASSERT_TRUE(source.is_ok()) << source.status().message();
  auto pool = frame_pool(160, 120, 2);
  Clock::time_point start;
  int64_t first_ts = 0;
  int64_t worst_us = 0;
  int64_t total_us = 0;
  for (int i = 0; i < 25; ++i) {  // across a loop boundary too
    VideoFrame f;
    ASSERT_TRUE(source.value()->read(*pool, &f).is_ok());
    const Clock::time_point now = Clock::now();
    if (i == 0) {
      start = now;
      first_ts = f.ts_us;
      continue;
    }
    const int64_t late =
        std::chrono::duration_cast<std::chrono::microseconds>(now - start).count() -
        (f.ts_us - first_ts);
    EXPECT_GE(late, 0) << "frame " << i << " came early";
    worst_us = std::max(worst_us, late);
    total_us += late;
  }
  // A frame is due every 100 ms; a wake-up may come late on a busy machine (the sanitizer
  // stages run tests in parallel), but the schedule is absolute, so lateness never accumulates.
  EXPECT_LT(total_us / 24, 20000);
  EXPECT_LT(worst_us, 100000);
  std::printf("pacing: mean lateness %lld us, worst %lld us\n",
              static_cast<long long>(total_us / 24), static_cast<long long>(worst_us));
  RecordProperty("worst_lateness_us", static_cast<int>(worst_us));
}

TEST_F(SourcesTest, RealtimeInterruptFromAnotherThread) {
  SourceConfig config;
  config.url = make_clip("interrupt.mp4");
  config.realtime = true;
  config.loop = true;
  auto source = open_source(config);
  ASSERT_TRUE(source.is_ok()) << source.status().message();
  auto pool = frame_pool(160, 120, 4);
  Clock::time_point interrupted_at;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    interrupted_at = Clock::now();
    source.value()->interrupt();
  });
  Status s;
  int frames = 0;
  for (VideoFrame f; (s = source.value()->read(*pool, &f)).is_ok();) ++frames;
  const Clock::time_point returned = Clock::now();
  stopper.join();
  EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.message();
  const int64_t latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(returned - interrupted_at).count();
  EXPECT_LT(latency_ms, 100);  // a condition-variable wake-up: well under 1 ms when idle
  EXPECT_GE(frames, 2);
  VideoFrame f;
  EXPECT_EQ(source.value()->read(*pool, &f).code(), StatusCode::kCancelled);  // sticky
}

TEST_F(SourcesTest, CorruptFileMidStreamSkipsPackets) {
  std::string bytes = testing::read_file(testing::asset("vtest.avi"));
  ASSERT_GT(bytes.size(), 1000000u);
  // Garbage over the start of five frames in the middle (their picture headers: the decoder
  // notices and conceals) and over a 4 KiB stretch (frame data, perhaps a chunk header).
  size_t pos = bytes.size() / 2;
  for (int hit = 0; hit < 5; ++hit) {
    pos = bytes.find("00dc", pos);  // an AVI video chunk: tag, size, then the frame
    ASSERT_NE(pos, std::string::npos);
    for (size_t i = 0; i < 16; ++i) bytes[pos + 8 + i] = static_cast<char>(0x5A ^ (i * 131));
    pos += 100000;
  }
  const size_t at = bytes.size() * 2 / 5;
  for (size_t i = 0; i < 4096; ++i) bytes[at + i] = static_cast<char>(0xA5 ^ (i * 37));
  const std::string corrupt = path("corrupt.avi");
  testing::write_file(corrupt, bytes);
  EventLog log;
  SourceConfig config;
  config.url = corrupt;
  auto source = open_source(config, log.callback());
  ASSERT_TRUE(source.is_ok()) << source.status().message();
  auto pool = frame_pool(768, 576, 2);
  Status s;
  int64_t frames = 0;
  int64_t last_ts = -1;
  for (VideoFrame f; (s = source.value()->read(*pool, &f)).is_ok(); ++frames) {
    EXPECT_GT(f.ts_us, last_ts);
    last_ts = f.ts_us;
  }
  EXPECT_EQ(s.code(), StatusCode::kEndOfStream) << s.message();
  const SourceStats st = source.value()->stats();
  EXPECT_GT(frames, 700);
  EXPECT_LT(frames, 795);
  EXPECT_GT(st.skipped_packets, 0u);
  EXPECT_EQ(log.count(SourceEvent::Kind::kEndOfStream), 1);
  RecordProperty("frames", static_cast<int>(frames));
  RecordProperty("skipped", static_cast<int>(st.skipped_packets));
}

TEST_F(SourcesTest, TruncatedFileEndsWithEndOfStream) {
  const std::string bytes = testing::read_file(testing::asset("vtest.avi"));
  const std::string cut = path("cut.avi");
  testing::write_file(cut, bytes.substr(0, bytes.size() / 3));
  EventLog log;
  SourceConfig config;
  config.url = cut;
  auto source = open_source(config, log.callback());
  ASSERT_TRUE(source.is_ok()) << source.status().message();
  auto pool = frame_pool(768, 576, 2);
  Status s;
  int64_t frames = 0;
  for (VideoFrame f; (s = source.value()->read(*pool, &f)).is_ok();) ++frames;
  EXPECT_EQ(s.code(), StatusCode::kEndOfStream) << s.message();
  EXPECT_GT(frames, 100);
  EXPECT_LT(frames, 795);
  VideoFrame f;
  EXPECT_EQ(source.value()->read(*pool, &f).code(), StatusCode::kEndOfStream);
  // The damage first, with its counts, then the end, which says why.
  ASSERT_EQ(log.events.size(), 2u);
  EXPECT_EQ(log.events[0].kind, SourceEvent::Kind::kDamaged);
  EXPECT_TRUE(log.events[0].damage.truncated);
  EXPECT_NE(log.events[0].cause.find("truncated"), std::string::npos) << log.events[0].cause;
  EXPECT_EQ(log.events[1].kind, SourceEvent::Kind::kEndOfStream);
  EXPECT_EQ(log.events[1].end_reason, "truncated");
  EXPECT_EQ(log.events[1].cause.rfind("truncated: ", 0), 0u) << log.events[1].cause;
  EXPECT_EQ(source.value()->stats().end_reason, "truncated");
}

TEST_F(SourcesTest, BadUrlsAndConfigs) {
  SourceConfig config;
  config.url = "http://camera.local/stream.mjpg";
  auto http = open_source(config);
  EXPECT_EQ(http.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(http.status().message().find("scheme 'http'"), std::string::npos)
      << http.status().message();
  config.url = "Foo://user:secret@host/x";
  auto foo = open_source(config);
  EXPECT_EQ(foo.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(foo.status().message().find("'foo'"), std::string::npos) << foo.status().message();
  EXPECT_EQ(foo.status().message().find("secret"), std::string::npos) << foo.status().message();

  config.url = path("missing.mp4");
  EXPECT_EQ(open_source(config).status().code(), StatusCode::kNotFound);
  config.url = "";
  EXPECT_EQ(open_source(config).status().code(), StatusCode::kInvalidConfig);
  config.url = "rtsp://127.0.0.1:1/x";
  config.transport = "quic";
  auto quic = open_source(config);
  EXPECT_EQ(quic.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(quic.status().message().find("source.transport"), std::string::npos);
  config.transport = "udp";
  config.reconnect_max_ms = 10;
  EXPECT_EQ(open_source(config).status().code(), StatusCode::kInvalidConfig);
}

TEST_F(SourcesTest, ParseSourceConfig) {
  auto c = parse_source_config(
      R"({"url": "rtsp://cam/1", "transport": "udp", "read_timeout_ms": 1500,
          "reconnect_initial_ms": 100, "reconnect_max_ms": 800, "format": "nv12"})",
      "channels[0].source");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->url, "rtsp://cam/1");
  EXPECT_EQ(c->transport, "udp");
  EXPECT_EQ(c->read_timeout_ms, 1500);
  EXPECT_EQ(c->open_timeout_ms, 5000);
  EXPECT_EQ(c->reconnect_max_ms, 800);
  EXPECT_EQ(c->format, PixelFormat::kNV12);
  EXPECT_FALSE(c->loop);

  const auto error = [](const std::string& json) {
    auto r = parse_source_config(json, "channels[0].source");
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig) << json;
    return r.status().message();
  };
  EXPECT_NE(error(R"({"url": "a.mp4", "lop": true})").find("channels[0].source.lop: unknown"),
            std::string::npos);
  EXPECT_NE(error(R"({"loop": true})").find("channels[0].source.url: missing"), std::string::npos);
  EXPECT_NE(error(R"({"url": "a", "transport": "sctp"})").find("source.transport"),
            std::string::npos);
  EXPECT_NE(error(R"({"url": "a", "read_timeout_ms": 0})").find("source.read_timeout_ms"),
            std::string::npos);
  EXPECT_NE(error(R"({"url": "a", "reconnect_initial_ms": 900, "reconnect_max_ms": 800})")
                .find("source.reconnect_max_ms"),
            std::string::npos);
  EXPECT_NE(error(R"({"url": )").find("not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace vas
