// VideoReader on damaged input built from vtest.avi: a truncated copy, a copy with garbage in
// the middle, an empty file and a header-only stub. The reader must count what it lost
// (stats()), route FFmpeg's complaints through vasdk's log sink, and call an unreadable
// container an I/O error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "core/log.h"
#include "io/video_reader.h"
#include "test_util.h"

namespace vas {
namespace {

using vas::testing::asset;
using vas::testing::read_file;
using vas::testing::temp_dir;
using vas::testing::write_file;

class DamagedVideo : public ::testing::Test {
 protected:
  void SetUp() override {
    clean_ = read_file(asset("vtest.avi"));
    ASSERT_GT(clean_.size(), size_t{3} << 20);
    dir_ = temp_dir() + "/vas_damage_" + std::to_string(::getpid());
    ASSERT_EQ(std::system(("mkdir -p '" + dir_ + "'").c_str()), 0);
  }
  void TearDown() override {
    (void)set_log_sink(nullptr, nullptr, LogLevel::kWarn);
    (void)std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::string file(const std::string& name, const std::string& bytes) {
    const std::string p = dir_ + "/" + name;
    write_file(p, bytes);
    return p;
  }
  // Reads to the end; returns the final stats and the container's frame count.
  static VideoReaderStats drain(const std::string& path, int64_t* frame_count) {
    auto reader = VideoReader::open(path);
    EXPECT_TRUE(reader.is_ok()) << reader.status().message();
    if (!reader.is_ok()) return {};
    *frame_count = reader.value()->info().frame_count;
    Frame f;
    Status st;
    while ((st = reader.value()->read(&f)).is_ok()) {
    }
    EXPECT_EQ(st.code(), StatusCode::kEndOfStream) << st.message();
    return reader.value()->stats();
  }

  std::string clean_;
  std::string dir_;
};

TEST_F(DamagedVideo, CleanFileIsComplete) {
  int64_t count = 0;
  const VideoReaderStats s = drain(asset("vtest.avi"), &count);
  EXPECT_EQ(count, 795);
  EXPECT_EQ(s.decoded, count);
  EXPECT_EQ(s.damaged, 0);
  EXPECT_EQ(s.rejected_packets, 0);
  EXPECT_FALSE(s.truncated);
}

TEST_F(DamagedVideo, TruncatedFileReportsWhatItLost) {
  int64_t count = 0;
  const VideoReaderStats s = drain(file("head.avi", clean_.substr(0, 100 * 1000)), &count);
  EXPECT_EQ(count, 795);  // the header still promises the whole clip
  EXPECT_GT(s.decoded, 0);
  EXPECT_LT(s.decoded, 20);
  EXPECT_TRUE(s.truncated) << s.decoded;
  EXPECT_STREQ(end_reason(s), "truncated");
}

TEST_F(DamagedVideo, GarbageInTheMiddleIsCountedAndLoggedThroughTheSink) {
  std::string bad = clean_;
  std::mt19937 rng(16);
  const size_t at = bad.size() / 2 - (size_t{1} << 19);
  for (size_t i = 0; i < (size_t{1} << 20); ++i) bad[at + i] = static_cast<char>(rng());
  struct Captured {
    std::mutex mu;
    std::vector<std::string> lines;
  } captured;
  ASSERT_TRUE(set_log_sink(
                  [](LogLevel, const char* message, void* user) {
                    auto* c = static_cast<Captured*>(user);
                    std::lock_guard<std::mutex> lock(c->mu);
                    c->lines.emplace_back(message);
                  },
                  &captured, LogLevel::kDebug)
                  .is_ok());
  int64_t count = 0;
  const VideoReaderStats s = drain(file("middle.avi", bad), &count);
  ASSERT_TRUE(set_log_sink(nullptr, nullptr, LogLevel::kWarn).is_ok());
  EXPECT_EQ(count, 795);
  EXPECT_LT(s.decoded, count);
  EXPECT_GT(s.decoded, count / 2);
  EXPECT_GT(s.damaged + s.rejected_packets + s.skipped_bytes, 0);
  EXPECT_FALSE(s.truncated) << "the file is whole; its middle is damaged";
  EXPECT_STREQ(end_reason(s), "damaged");
  size_t ffmpeg_lines = 0;
  for (const std::string& l : captured.lines) ffmpeg_lines += l.rfind("ffmpeg: ", 0) == 0;
  EXPECT_GT(ffmpeg_lines, 0u) << "FFmpeg's messages did not reach the log sink";
}

// One damaged copy of a clip and what reading it must conclude.
struct Case {
  std::string name;
  std::string bytes;
  const char* reason;  // end_reason() expected
};

// Copies of `clean` cut at several points, with random garbage in the middle and with zeroed
// ranges. Cuts keep at least the first 5% so that the header (and so the declared length)
// survives; a cut at the very end drops only the tail of the last packets.
std::vector<Case> damaged_copies(const std::string& clean, uint32_t seed) {
  std::vector<Case> out;
  const size_t n = clean.size();
  for (double at : {0.05, 0.3, 0.5, 0.8, 0.97}) {
    out.push_back({"cut at " + std::to_string(at), clean.substr(0, static_cast<size_t>(n * at)),
                   "truncated"});
  }
  std::mt19937 rng(seed);
  for (double at : {0.3, 0.6}) {
    std::string bad = clean;
    const size_t from = static_cast<size_t>(n * at), len = n / 20;
    for (size_t i = 0; i < len; ++i) bad[from + i] = static_cast<char>(rng());
    out.push_back({"garbage at " + std::to_string(at), bad, "damaged"});
  }
  for (double at : {0.4, 0.7}) {
    std::string bad = clean;
    std::fill(bad.begin() + static_cast<std::ptrdiff_t>(n * at),
              bad.begin() + static_cast<std::ptrdiff_t>(n * at + n / 50), '\0');
    out.push_back({"zeroed at " + std::to_string(at), bad, "damaged"});
  }
  return out;
}

// Reads a damaged copy to its end (or to the reader's error). A damaged copy must never end as
// "complete", and no frame may be lost without a count saying so.
void check_case(const std::string& path, const Case& c, int64_t clean_frames) {
  SCOPED_TRACE(c.name);
  auto reader = VideoReader::open(path);
  if (!reader.is_ok()) {
    // A cut through the header or index: refusing the file is an honest answer too.
    EXPECT_EQ(reader.status().code(), StatusCode::kIoError) << reader.status().message();
    return;
  }
  Frame f;
  Status st;
  int64_t flagged = 0;
  while ((st = reader.value()->read(&f)).is_ok()) flagged += f.damaged;
  const VideoReaderStats s = reader.value()->stats();
  std::printf(
      "  %-22s %-9s decoded %4lld (%lld after an error), damaged %lld, rejected %lld, "
      "skipped %lld bytes, missing %lld, truncated %d (%s)\n",
      c.name.c_str(), end_reason(s), static_cast<long long>(s.decoded),
      static_cast<long long>(s.after_error), static_cast<long long>(s.damaged),
      static_cast<long long>(s.rejected_packets), static_cast<long long>(s.skipped_bytes),
      static_cast<long long>(s.missing_frames), s.truncated ? 1 : 0,
      st.is_ok() ? "" : st.message().c_str());
  EXPECT_EQ(flagged, s.after_error);
  EXPECT_NE(std::string(end_reason(s)), "complete") << s.decoded << " of " << clean_frames;
  if (std::string(c.reason) == "truncated") {
    EXPECT_TRUE(s.truncated);
    EXPECT_LT(s.decoded, clean_frames);
  } else {
    EXPECT_EQ(std::string(end_reason(s)), c.reason);
  }
}

TEST_F(DamagedVideo, EveryDamagedCopyOfTwoContainersEndsTruncatedOrDamaged) {
  // msmpeg4v3 in AVI (no audio), XviD MPEG-4 in AVI with AC3 audio, and H.264 in MP4 made here
  // (when ffmpeg with libx264 is at hand).
  std::vector<std::string> clips = {asset("vtest.avi"), asset("Megamind.avi")};
  const std::string mp4 = dir_ + "/clip.mp4";
  const std::string make = "ffmpeg -loglevel error -y -i '" + asset("vtest.avi") +
                           "' -t 20 -c:v libx264 -preset ultrafast -g 50 -pix_fmt yuv420p "
                           "-movflags +faststart '" +
                           mp4 + "'";
  if (std::system(make.c_str()) == 0) {
    clips.push_back(mp4);
  } else {
    std::printf("  (no ffmpeg with libx264: the MP4 case is left out)\n");
  }
  uint32_t seed = 1;
  for (const std::string& clip : clips) {
    SCOPED_TRACE(clip);
    int64_t frames = 0;
    const VideoReaderStats clean = drain(clip, &frames);
    EXPECT_STREQ(end_reason(clean), "complete") << clip;
    EXPECT_EQ(clean.after_error, 0);
    EXPECT_EQ(clean.skipped_bytes, 0);
    std::printf("%s: %lld frames\n", clip.c_str(), static_cast<long long>(clean.decoded));
    const std::string bytes = read_file(clip);
    for (const Case& c : damaged_copies(bytes, seed++)) {
      const std::string path = file("copy" + clip.substr(clip.rfind('.')), c.bytes);
      check_case(path, c, clean.decoded);
    }
  }
}

TEST_F(DamagedVideo, EmptyOrCorruptContainerIsAnIoError) {
  for (const std::string& bytes : {std::string(), clean_.substr(0, 12),
                                   std::string("RIFF\x10\x00\x00\x00"
                                               "AVI LIST",
                                               16),
                                   std::string(4096, '\0')}) {
    auto reader = VideoReader::open(file("broken.avi", bytes));
    ASSERT_FALSE(reader.is_ok()) << bytes.size();
    EXPECT_EQ(reader.status().code(), StatusCode::kIoError)
        << bytes.size() << ": " << reader.status().message();
  }
}

TEST_F(DamagedVideo, UrlWithEmbeddedNulIsRefused) {
  const std::string url = asset("vtest.avi") + std::string("\0.txt", 5);
  auto reader = VideoReader::open(url);
  ASSERT_FALSE(reader.is_ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vas
