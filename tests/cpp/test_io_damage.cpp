// VideoReader on damaged input built from vtest.avi: a truncated copy, a copy with garbage in
// the middle, an empty file and a header-only stub. The reader must count what it lost
// (stats()), route FFmpeg's complaints through vasdk's log sink, and call an unreadable
// container an I/O error.
#include <gtest/gtest.h>
#include <unistd.h>

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
  EXPECT_TRUE(s.truncated || s.damaged + s.rejected_packets > 0) << s.decoded;
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
  EXPECT_GT(s.damaged + s.rejected_packets, 0);
  size_t ffmpeg_lines = 0;
  for (const std::string& l : captured.lines) ffmpeg_lines += l.rfind("ffmpeg: ", 0) == 0;
  EXPECT_GT(ffmpeg_lines, 0u) << "FFmpeg's messages did not reach the log sink";
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
