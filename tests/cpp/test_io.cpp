// Tests for io/video_reader and io/video_writer.
// Clips are generated at test time with the ffmpeg CLI (skipped if it is missing) or with
// VideoWriter itself, so no binary test data lives in the repository. The real asset vtest.avi
// is read when VASDK_ASSETS names the folder that holds it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/image.h"
#include "core/status.h"
#include "io/video_reader.h"
#include "io/video_writer.h"

namespace vas {
namespace {

namespace fs = std::filesystem;

bool have_ffmpeg_cli() {
  static const bool ok = std::system("ffmpeg -hide_banner -version > /dev/null 2>&1") == 0;
  return ok;
}

#define REQUIRE_FFMPEG_CLI() \
  if (!have_ffmpeg_cli()) GTEST_SKIP() << "the ffmpeg CLI generates this test's clip; not found"

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Mean of each channel of a packed 3-channel image, in memory order.
std::array<double, 3> channel_means(const ImageView& img) {
  std::array<double, 3> sum = {0, 0, 0};
  for (int y = 0; y < img.height; ++y) {
    const uint8_t* row = img.planes[0] + static_cast<ptrdiff_t>(y) * img.strides[0];
    for (int x = 0; x < img.width; ++x) {
      for (int c = 0; c < 3; ++c) sum[c] += row[3 * x + c];
    }
  }
  const double n = static_cast<double>(img.width) * img.height;
  return {sum[0] / n, sum[1] / n, sum[2] / n};
}

uint64_t checksum(const ImageView& img) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the visible bytes only
  for (int y = 0; y < img.height; ++y) {
    const uint8_t* row = img.planes[0] + static_cast<ptrdiff_t>(y) * img.strides[0];
    for (int x = 0; x < img.width * 3; ++x) h = (h ^ row[x]) * 1099511628211ull;
  }
  return h;
}

// Reads to the end; returns the frame count and stores the final status.
int64_t count_frames(VideoReader* reader, Status* last, int64_t limit = 100000) {
  Frame frame;
  int64_t n = 0;
  for (; n < limit; ++n) {
    *last = reader->read(&frame);
    if (!last->is_ok()) break;
  }
  return n;
}

class IoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vasdk_test_io_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << "mkdtemp failed for " << tmpl;
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs ffmpeg quietly; paths in args must be quoted by the caller.
  static void ffmpeg(const std::string& args) {
    // coreutils' timeout keeps a stuck ffmpeg from hanging the whole test run.
    static const bool have_timeout = std::system("timeout 5 true > /dev/null 2>&1") == 0;
    const std::string cmd = std::string(have_timeout ? "timeout 60 " : "") +
                            "ffmpeg -nostdin -hide_banner -loglevel error -y " + args;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  // 20 frames of FFmpeg's test pattern at 160x120, 10 fps.
  std::string make_testsrc(const std::string& name,
                           const std::string& codec_args = "-c:v libx264 -pix_fmt yuv420p") {
    const std::string out = path(name);
    ffmpeg("-f lavfi -i testsrc=size=160x120:rate=10 -frames:v 20 " + codec_args + " '" + out +
           "'");
    return out;
  }

  fs::path dir_;
};

using VideoReaderTest = IoTest;
using VideoWriterTest = IoTest;

TEST_F(VideoReaderTest, ReadsGeneratedClip) {
  REQUIRE_FFMPEG_CLI();
  const std::string clip = make_testsrc("clip.mp4");
  auto reader = VideoReader::open(clip);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();

  const VideoInfo& info = reader.value()->info();
  EXPECT_EQ(info.width, 160);
  EXPECT_EQ(info.height, 120);
  EXPECT_DOUBLE_EQ(info.fps, 10.0);
  EXPECT_EQ(info.frame_count, 20);
  EXPECT_EQ(info.codec, "h264");

  Frame frame;
  const uint8_t* first_buffer = nullptr;
  for (int i = 0; i < 20; ++i) {
    Status s = reader.value()->read(&frame);
    ASSERT_TRUE(s.is_ok()) << "frame " << i << ": " << s.message();
    EXPECT_EQ(frame.index, i);
    EXPECT_EQ(frame.pts_us, i * 100000);
    EXPECT_EQ(frame.image.format, PixelFormat::kBGR24);
    EXPECT_EQ(frame.image.width, 160);
    EXPECT_EQ(frame.image.height, 120);
    EXPECT_EQ(frame.image.strides[0], 160 * 3);
    EXPECT_TRUE(frame.image.validate().is_ok());
    // The reader reuses one buffer for every frame of the same size.
    if (i == 0) first_buffer = frame.image.planes[0];
    EXPECT_EQ(frame.image.planes[0], first_buffer);
  }
  for (int i = 0; i < 3; ++i) {
    Status s = reader.value()->read(&frame);
    EXPECT_EQ(s.code(), StatusCode::kEndOfStream) << s.message();
  }
  EXPECT_EQ(reader.value()->skipped_packets(), 0);
}

TEST_F(VideoReaderTest, UnknownFrameCountInMatroska) {
  REQUIRE_FFMPEG_CLI();
  const std::string clip = make_testsrc("clip.mkv");
  auto reader = VideoReader::open(clip);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();
  EXPECT_EQ(reader.value()->info().frame_count, -1);  // Matroska headers carry no frame count
  EXPECT_DOUBLE_EQ(reader.value()->info().fps, 10.0);
  Status last;
  EXPECT_EQ(count_frames(reader->get(), &last), 20);
  EXPECT_EQ(last.code(), StatusCode::kEndOfStream);
}

TEST_F(VideoReaderTest, ThreadedDecodeMatchesSingleThread) {
  REQUIRE_FFMPEG_CLI();
  const std::string clip = make_testsrc("clip.mp4");
  std::vector<uint64_t> reference;
  for (int threads : {1, 0, 4}) {
    VideoReaderOptions options;
    options.threads = threads;
    auto reader = VideoReader::open(clip, options);
    ASSERT_TRUE(reader.is_ok()) << reader.status().message();
    std::vector<uint64_t> sums;
    Frame frame;
    Status s;
    while ((s = reader.value()->read(&frame)).is_ok()) sums.push_back(checksum(frame.image));
    EXPECT_EQ(s.code(), StatusCode::kEndOfStream) << s.message();
    if (threads == 1) {
      reference = sums;
      ASSERT_EQ(reference.size(), 20u);
    } else {
      EXPECT_EQ(sums, reference) << "threads=" << threads;
    }
  }
}

TEST_F(VideoReaderTest, ChannelOrderOfBgrAndRgb) {
  REQUIRE_FFMPEG_CLI();
  const std::string clip = path("red.mp4");
  ffmpeg("-f lavfi -i color=c=red:size=64x48:rate=10 -frames:v 3 -c:v libx264 -pix_fmt yuv420p '" +
         clip + "'");
  for (PixelFormat format : {PixelFormat::kBGR24, PixelFormat::kRGB24}) {
    VideoReaderOptions options;
    options.output_format = format;
    auto reader = VideoReader::open(clip, options);
    ASSERT_TRUE(reader.is_ok()) << reader.status().message();
    Frame frame;
    ASSERT_TRUE(reader.value()->read(&frame).is_ok());
    EXPECT_EQ(frame.image.format, format);
    const auto m = channel_means(frame.image);
    const double red = format == PixelFormat::kRGB24 ? m[0] : m[2];
    const double blue = format == PixelFormat::kRGB24 ? m[2] : m[0];
    EXPECT_GT(red, 240) << pixel_format_name(format);
    EXPECT_LT(blue, 15) << pixel_format_name(format);
    EXPECT_LT(m[1], 15) << pixel_format_name(format);
  }
}

TEST_F(VideoReaderTest, Nv12PlaneLayout) {
  REQUIRE_FFMPEG_CLI();
  const std::string clip = path("solid.mp4");
  ffmpeg(
      "-f lavfi -i color=c=0x3060A0:size=64x48:rate=10 -frames:v 2 -c:v libx264 "
      "-pix_fmt yuv420p '" +
      clip + "'");
  VideoReaderOptions options;
  options.output_format = PixelFormat::kNV12;
  auto reader = VideoReader::open(clip, options);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();
  Frame frame;
  ASSERT_TRUE(reader.value()->read(&frame).is_ok());
  const ImageView& img = frame.image;
  EXPECT_EQ(img.format, PixelFormat::kNV12);
  EXPECT_EQ(img.width, 64);
  EXPECT_EQ(img.height, 48);
  EXPECT_EQ(img.strides[0], 64);
  EXPECT_EQ(img.strides[1], 64);
  EXPECT_EQ(img.planes[1], img.planes[0] + 64 * 48);  // UV follows Y in one contiguous buffer
  EXPECT_EQ(img.planes[2], nullptr);
  EXPECT_TRUE(img.validate().is_ok());
  // BT.601 limited range of R=0x30 G=0x60 B=0xA0 is Y 92, U 163, V 102.
  EXPECT_NEAR(img.planes[0][24 * 64 + 32], 92, 4);
  EXPECT_NEAR(img.planes[1][12 * 64 + 32], 163, 4);      // U at even offsets
  EXPECT_NEAR(img.planes[1][12 * 64 + 32 + 1], 102, 4);  // V right after it
}

TEST_F(VideoReaderTest, OddSizeWorksForBgrButNotNv12) {
  REQUIRE_FFMPEG_CLI();
  // Raw BGR in AVI: odd sizes are legal there, and it covers an RGB-family source.
  const std::string clip = path("odd.avi");
  ffmpeg("-f lavfi -i testsrc=size=161x121:rate=5 -frames:v 3 -c:v rawvideo -pix_fmt bgr24 '" +
         clip + "'");
  auto bgr = VideoReader::open(clip);
  ASSERT_TRUE(bgr.is_ok()) << bgr.status().message();
  Frame frame;
  ASSERT_TRUE(bgr.value()->read(&frame).is_ok());
  EXPECT_EQ(frame.image.width, 161);
  EXPECT_EQ(frame.image.height, 121);
  EXPECT_EQ(frame.image.strides[0], 161 * 3);

  VideoReaderOptions options;
  options.output_format = PixelFormat::kNV12;
  auto nv12 = VideoReader::open(clip, options);
  ASSERT_FALSE(nv12.is_ok());
  EXPECT_EQ(nv12.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(nv12.status().message().find("161x121"), std::string::npos) << nv12.status().message();
}

TEST_F(VideoReaderTest, MissingFileIsNotFound) {
  const std::string missing = path("does_not_exist.mp4");
  auto reader = VideoReader::open(missing);
  ASSERT_FALSE(reader.is_ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound);
  EXPECT_NE(reader.status().message().find(missing), std::string::npos)
      << reader.status().message();
}

TEST_F(VideoReaderTest, TextFileIsAnError) {
  const std::string fake = path("notes.mp4");
  std::ofstream(fake) << "This is a shopping list, not a video.\nmilk\neggs\nbread\n";
  auto reader = VideoReader::open(fake);
  ASSERT_FALSE(reader.is_ok());
  const StatusCode code = reader.status().code();
  EXPECT_TRUE(code == StatusCode::kUnsupported || code == StatusCode::kIoError)
      << status_code_name(code);
  EXPECT_NE(reader.status().message().find(fake), std::string::npos) << reader.status().message();
}

TEST_F(VideoReaderTest, AudioOnlyFileHasNoVideoStream) {
  REQUIRE_FFMPEG_CLI();
  const std::string wav = path("tone.wav");
  ffmpeg("-f lavfi -i sine=frequency=440:duration=0.5 '" + wav + "'");
  auto reader = VideoReader::open(wav);
  ASSERT_FALSE(reader.is_ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(reader.status().message().find("no video stream"), std::string::npos)
      << reader.status().message();
}

TEST_F(VideoReaderTest, SkipsAudioPackets) {
  REQUIRE_FFMPEG_CLI();
  // Audio is stream 0, so "first video stream" has to look past it.
  const std::string clip = path("av.mkv");
  ffmpeg(
      "-f lavfi -i sine=frequency=440:duration=1.5 "
      "-f lavfi -i testsrc=size=96x64:rate=10:duration=1.5 "
      "-map 0:a -map 1:v -c:v libx264 -pix_fmt yuv420p -c:a aac '" +
      clip + "'");
  auto reader = VideoReader::open(clip);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();
  Status last;
  EXPECT_EQ(count_frames(reader->get(), &last), 15);
  EXPECT_EQ(last.code(), StatusCode::kEndOfStream) << last.message();
}

TEST_F(VideoReaderTest, TruncatedClipsDoNotCrash) {
  REQUIRE_FFMPEG_CLI();
  for (const std::string ext : {"mp4", "mkv", "ts", "avi"}) {
    SCOPED_TRACE(ext);
    const std::string clip = make_testsrc("clip." + ext);
    const std::vector<char> bytes = read_bytes(clip);
    ASSERT_GT(bytes.size(), 6000u);
    for (size_t keep : {size_t{3000}, bytes.size() / 2}) {
      SCOPED_TRACE(keep);
      const std::string cut = path("cut." + ext);
      write_bytes(cut, std::vector<char>(bytes.begin(), bytes.begin() + keep));
      auto reader = VideoReader::open(cut);
      if (!reader.is_ok()) {
        // The header (e.g. mp4's moov at the end) was cut off: a clear error is the right answer.
        EXPECT_NE(reader.status().code(), StatusCode::kOk);
        EXPECT_NE(reader.status().message().find(cut), std::string::npos)
            << reader.status().message();
        continue;
      }
      Status last;
      const int64_t n = count_frames(reader->get(), &last, 1000);
      EXPECT_LT(n, 20);
      EXPECT_FALSE(last.is_ok());
      // Reading again after the end must keep failing cleanly.
      Frame frame;
      EXPECT_FALSE(reader.value()->read(&frame).is_ok());
    }
  }
}

TEST_F(VideoReaderTest, CorruptPacketIsSkipped) {
  REQUIRE_FFMPEG_CLI();
  // PNG frames fail loudly on bad data, unlike H.264 which conceals; so one frame is lost.
  const std::string clip = make_testsrc("png.avi", "-c:v png");
  std::vector<char> bytes = read_bytes(clip);
  std::vector<size_t> idat;
  const std::string tag = "IDAT";
  for (auto it = bytes.begin();
       (it = std::search(it, bytes.end(), tag.begin(), tag.end())) != bytes.end(); ++it) {
    idat.push_back(static_cast<size_t>(it - bytes.begin()));
  }
  ASSERT_GE(idat.size(), 20u);
  const size_t at = idat[10] + 8;  // inside the zlib data of frame 10
  for (size_t i = 0; i < 200; ++i) bytes[at + i] = static_cast<char>(0xA5 ^ (i * 37));
  write_bytes(clip, bytes);

  auto reader = VideoReader::open(clip);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();
  Status last;
  const int64_t n = count_frames(reader->get(), &last);
  EXPECT_EQ(last.code(), StatusCode::kEndOfStream) << last.message();
  EXPECT_GE(reader.value()->skipped_packets(), 1);
  EXPECT_EQ(n + reader.value()->skipped_packets(), 20);
}

TEST_F(VideoReaderTest, CorruptH264DoesNotCrash) {
  REQUIRE_FFMPEG_CLI();
  const std::string clip = make_testsrc("clip.mp4", "-c:v libx264 -pix_fmt yuv420p -g 5");
  std::vector<char> bytes = read_bytes(clip);
  for (size_t at = bytes.size() / 5; at < bytes.size() * 3 / 5; at += 997) {
    for (size_t i = 0; i < 16; ++i) bytes[at + i] = static_cast<char>(0x5A + i);
  }
  write_bytes(clip, bytes);
  auto reader = VideoReader::open(clip);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();  // moov is intact
  Status last;
  const int64_t n = count_frames(reader->get(), &last, 1000);
  EXPECT_GT(n, 0);
  EXPECT_LE(n, 20);
  EXPECT_FALSE(last.is_ok());
}

TEST_F(VideoReaderTest, SizeChangeMidStream) {
  REQUIRE_FFMPEG_CLI();
  const std::string a = path("a.h264");
  const std::string b = path("b.h264");
  ffmpeg("-f lavfi -i testsrc=size=160x120:rate=25 -frames:v 5 -c:v libx264 -pix_fmt yuv420p '" +
         a + "'");
  ffmpeg("-f lavfi -i testsrc=size=96x64:rate=25 -frames:v 5 -c:v libx264 -pix_fmt yuv420p '" + b +
         "'");
  std::vector<char> joined = read_bytes(a);
  const std::vector<char> tail = read_bytes(b);
  joined.insert(joined.end(), tail.begin(), tail.end());
  const std::string clip = path("joined.h264");
  write_bytes(clip, joined);

  for (PixelFormat format : {PixelFormat::kBGR24, PixelFormat::kNV12}) {
    VideoReaderOptions options;
    options.output_format = format;
    auto reader = VideoReader::open(clip, options);
    ASSERT_TRUE(reader.is_ok()) << reader.status().message();
    EXPECT_EQ(reader.value()->info().width, 160);
    EXPECT_EQ(reader.value()->info().frame_count, -1);  // raw elementary streams have no header
    Frame frame;
    for (int i = 0; i < 10; ++i) {
      Status s = reader.value()->read(&frame);
      ASSERT_TRUE(s.is_ok()) << "frame " << i << ": " << s.message();
      EXPECT_EQ(frame.image.width, i < 5 ? 160 : 96) << "frame " << i;
      EXPECT_EQ(frame.image.height, i < 5 ? 120 : 64) << "frame " << i;
      EXPECT_TRUE(frame.image.validate().is_ok());
    }
    EXPECT_EQ(reader.value()->read(&frame).code(), StatusCode::kEndOfStream);
  }
}

TEST_F(VideoReaderTest, RejectsBadArguments) {
  VideoReaderOptions gray;
  gray.output_format = PixelFormat::kGRAY8;
  EXPECT_EQ(VideoReader::open("x.mp4", gray).status().code(), StatusCode::kInvalidArgument);
  VideoReaderOptions threads;
  threads.threads = -1;
  EXPECT_EQ(VideoReader::open("x.mp4", threads).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VideoReader::open("").status().code(), StatusCode::kInvalidArgument);

  auto bogus = VideoReader::open("nosuchprotocol://host/stream");
  ASSERT_FALSE(bogus.is_ok());
  EXPECT_EQ(bogus.status().code(), StatusCode::kUnsupported) << bogus.status().message();
}

TEST_F(VideoReaderTest, ReadNeedsAFrame) {
  REQUIRE_FFMPEG_CLI();
  auto reader = VideoReader::open(make_testsrc("clip.mp4"));
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();
  EXPECT_EQ(reader.value()->read(nullptr).code(), StatusCode::kInvalidArgument);
}

// A server that accepts TCP connections (the kernel does it) and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(fd_, 8) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() {
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(VideoReaderTest, SilentRtspServerTimesOutAndHidesCredentials) {
  SilentServer server;
  ASSERT_GT(server.port(), 0);
  const std::string url =
      "rtsp://admin:secret@127.0.0.1:" + std::to_string(server.port()) + "/stream";
  VideoReaderOptions options;
  options.open_timeout_ms = 300;
  const auto start = std::chrono::steady_clock::now();
  auto reader = VideoReader::open(url, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(reader.is_ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kTimeout) << reader.status().message();
  EXPECT_LT(seconds, 3.0);
  EXPECT_EQ(reader.status().message().find("secret"), std::string::npos)
      << reader.status().message();
  EXPECT_NE(reader.status().message().find("127.0.0.1"), std::string::npos)
      << reader.status().message();
}

// Serves one HTTP response: the first `bytes` of a stream, then stalls without closing, like a
// camera that froze. The stall ends when the object is destroyed.
class StallingHttpServer {
 public:
  explicit StallingHttpServer(std::vector<char> bytes) : bytes_(std::move(bytes)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~StallingHttpServer() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return listener_.port(); }

 private:
  void serve() {
    const int client = accept_with_stop(listener_.fd());
    if (client < 0) return;
    char request[4096];
    (void)!recv(client, request, sizeof(request), 0);  // one read holds a short GET
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\n";
    bool ok = send(client, head.data(), head.size(), MSG_NOSIGNAL) >= 0;
    for (size_t sent = 0; ok && sent < bytes_.size();) {
      const ssize_t n = send(client, bytes_.data() + sent, bytes_.size() - sent, MSG_NOSIGNAL);
      ok = n > 0;
      sent += ok ? static_cast<size_t>(n) : 0;
    }
    while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ::close(client);
  }
  int accept_with_stop(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 10) > 0) return accept(fd, nullptr, nullptr);
    }
    return -1;
  }

  SilentServer listener_;
  std::vector<char> bytes_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(VideoReaderTest, StalledStreamTimesOutOnRead) {
  REQUIRE_FFMPEG_CLI();
  // Long enough (12 s) that probing the stream at open() needs only the part that is sent.
  const std::string clip = path("live.ts");
  ffmpeg(
      "-f lavfi -i testsrc=size=64x48:rate=10 -frames:v 120 -c:v libx264 -pix_fmt yuv420p "
      "-bf 0 -g 10 '" +
      clip + "'");
  const std::vector<char> bytes = read_bytes(clip);
  StallingHttpServer server(std::vector<char>(bytes.begin(), bytes.begin() + bytes.size() * 3 / 4));
  ASSERT_GT(server.port(), 0);
  VideoReaderOptions options;
  options.open_timeout_ms = 2000;
  options.read_timeout_ms = 300;
  auto reader =
      VideoReader::open("http://127.0.0.1:" + std::to_string(server.port()) + "/live.ts", options);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();
  // The data arrives at once, so nearly all the time until the error is the read timeout.
  const auto start = std::chrono::steady_clock::now();
  Frame frame;
  Status s;
  int frames = 0;
  while (frames < 200 && (s = reader.value()->read(&frame)).is_ok()) ++frames;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(frames, 0);
  EXPECT_LT(frames, 120);
  EXPECT_EQ(s.code(), StatusCode::kTimeout) << s.message();
  EXPECT_GE(seconds, 0.25);
  EXPECT_LT(seconds, 2.0);
  // The stream stays failed; the caller is expected to reopen it.
  EXPECT_EQ(reader.value()->read(&frame).code(), StatusCode::kTimeout);
}

TEST_F(VideoReaderTest, RealAssetVtest) {
  const char* assets = std::getenv("VASDK_ASSETS");
  if (assets == nullptr || *assets == '\0') {
    GTEST_SKIP() << "set VASDK_ASSETS to the folder holding vtest.avi to run this test";
  }
  const std::string clip = (fs::path(assets) / "vtest.avi").string();
  auto reader = VideoReader::open(clip);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();
  const VideoInfo& info = reader.value()->info();
  EXPECT_EQ(info.width, 768);
  EXPECT_EQ(info.height, 576);
  EXPECT_DOUBLE_EQ(info.fps, 10.0);
  EXPECT_EQ(info.frame_count, 795);
  EXPECT_EQ(info.codec, "msmpeg4v3");
  Frame frame;
  Status s;
  int64_t n = 0;
  int64_t last_pts = -1;
  while ((s = reader.value()->read(&frame)).is_ok()) {
    EXPECT_EQ(frame.image.width, 768);
    EXPECT_EQ(frame.image.height, 576);
    EXPECT_GT(frame.pts_us, last_pts);
    last_pts = frame.pts_us;
    ++n;
  }
  EXPECT_EQ(s.code(), StatusCode::kEndOfStream) << s.message();
  EXPECT_EQ(n, 795);
  EXPECT_EQ(last_pts, 794 * 100000);
  EXPECT_EQ(reader.value()->skipped_packets(), 0);
}

// Writes `per_colour` frames of each BGR colour in order.
Status write_solid_clip(VideoWriter* writer, int width, int height,
                        const std::vector<std::array<uint8_t, 3>>& colours, int per_colour) {
  Image img;
  img.format = PixelFormat::kBGR24;
  img.width = width;
  img.height = height;
  img.data.resize(static_cast<size_t>(width) * height * 3);
  for (const auto& bgr : colours) {
    for (size_t i = 0; i < img.data.size(); ++i) img.data[i] = bgr[i % 3];
    for (int k = 0; k < per_colour; ++k) VAS_RETURN_IF_ERROR(writer->write(img.view()));
  }
  return Status::ok();
}

TEST_F(VideoWriterTest, RoundTripSolidColours) {
  const std::vector<std::array<uint8_t, 3>> colours = {
      {20, 30, 220}, {30, 200, 40}, {210, 60, 30}, {128, 128, 128}};  // BGR
  for (const std::string ext : {"mp4", "mkv", "avi"}) {
    SCOPED_TRACE(ext);
    const std::string clip = path("round." + ext);
    VideoWriterOptions options;
    options.fps = 12.5;
    auto writer = VideoWriter::open(clip, 64, 48, options);
    ASSERT_TRUE(writer.is_ok()) << writer.status().message();
    ASSERT_TRUE(write_solid_clip(writer->get(), 64, 48, colours, 5).is_ok());
    EXPECT_EQ(writer.value()->frames_written(), 20);
    Status closed = writer.value()->close();
    ASSERT_TRUE(closed.is_ok()) << closed.message();

    auto reader = VideoReader::open(clip);
    ASSERT_TRUE(reader.is_ok()) << reader.status().message();
    EXPECT_EQ(reader.value()->info().width, 64);
    EXPECT_EQ(reader.value()->info().height, 48);
    EXPECT_NEAR(reader.value()->info().fps, 12.5, 1e-6);
    Frame frame;
    for (int i = 0; i < 20; ++i) {
      Status s = reader.value()->read(&frame);
      ASSERT_TRUE(s.is_ok()) << "frame " << i << ": " << s.message();
      const auto m = channel_means(frame.image);
      const auto& want = colours[i / 5];
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(m[c], want[c], 6.0) << "frame " << i << " ch " << c;
    }
    EXPECT_EQ(reader.value()->read(&frame).code(), StatusCode::kEndOfStream);
  }
}

TEST_F(VideoWriterTest, RgbInputAndMpeg4Codec) {
  const std::string clip = path("rgb.avi");
  VideoWriterOptions options;
  options.codec = "mpeg4";
  auto writer = VideoWriter::open(clip, 32, 32, options);
  ASSERT_TRUE(writer.is_ok()) << writer.status().message();
  std::vector<uint8_t> rgb(32 * 32 * 3);
  for (size_t i = 0; i < rgb.size(); i += 3) {
    rgb[i] = 230;  // R
    rgb[i + 1] = 20;
    rgb[i + 2] = 40;
  }
  const ImageView view = ImageView::packed(PixelFormat::kRGB24, 32, 32, rgb.data(), 32 * 3);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(writer.value()->write(view).is_ok());
  ASSERT_TRUE(writer.value()->close().is_ok());

  auto reader = VideoReader::open(clip);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();
  EXPECT_EQ(reader.value()->info().codec, "mpeg4");
  Frame frame;
  ASSERT_TRUE(reader.value()->read(&frame).is_ok());
  const auto m = channel_means(frame.image);  // BGR
  EXPECT_NEAR(m[2], 230, 10);
  EXPECT_NEAR(m[1], 20, 10);
  EXPECT_NEAR(m[0], 40, 10);
}

TEST_F(VideoWriterTest, RejectsWrongFramesAndWriteAfterClose) {
  auto writer = VideoWriter::open(path("w.mp4"), 64, 48);
  ASSERT_TRUE(writer.is_ok()) << writer.status().message();

  std::vector<uint8_t> pixels(128 * 96 * 3, 100);
  Status s =
      writer.value()->write(ImageView::packed(PixelFormat::kBGR24, 32, 48, pixels.data(), 96));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("32x48"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("64x48"), std::string::npos) << s.message();

  ImageView nv12;
  nv12.format = PixelFormat::kNV12;
  nv12.width = 64;
  nv12.height = 48;
  nv12.planes[0] = pixels.data();
  nv12.planes[1] = pixels.data() + 64 * 48;
  nv12.strides[0] = nv12.strides[1] = 64;
  s = writer.value()->write(nv12);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("NV12"), std::string::npos) << s.message();

  s = writer.value()->write(ImageView::packed(PixelFormat::kBGR24, 64, 48, pixels.data(), 10));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "stride smaller than a row";

  // A view into a larger image (stride wider than the row) is fine.
  ASSERT_TRUE(writer.value()
                  ->write(ImageView::packed(PixelFormat::kBGR24, 64, 48, pixels.data(), 128 * 3))
                  .is_ok());
  EXPECT_EQ(writer.value()->frames_written(), 1);

  ASSERT_TRUE(writer.value()->close().is_ok());
  EXPECT_TRUE(writer.value()->close().is_ok()) << "close() twice is a no-op";
  s = writer.value()->write(ImageView::packed(PixelFormat::kBGR24, 64, 48, pixels.data(), 64 * 3));
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("after close"), std::string::npos) << s.message();
}

TEST_F(VideoWriterTest, RejectsBadOpenArguments) {
  auto odd = VideoWriter::open(path("odd.mp4"), 65, 48);
  EXPECT_EQ(odd.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(odd.status().message().find("65x48"), std::string::npos) << odd.status().message();
  EXPECT_EQ(VideoWriter::open(path("zero.mp4"), 0, 48).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VideoWriter::open(path("clip.gif"), 64, 48).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(VideoWriter::open(path("noext"), 64, 48).status().code(), StatusCode::kUnsupported);

  VideoWriterOptions codec;
  codec.codec = "no_such_encoder";
  EXPECT_EQ(VideoWriter::open(path("c.mp4"), 64, 48, codec).status().code(),
            StatusCode::kUnsupported);
  VideoWriterOptions fps;
  fps.fps = 0;
  EXPECT_EQ(VideoWriter::open(path("f.mp4"), 64, 48, fps).status().code(),
            StatusCode::kInvalidArgument);
  VideoWriterOptions crf;
  crf.crf = 99;
  EXPECT_EQ(VideoWriter::open(path("q.mp4"), 64, 48, crf).status().code(),
            StatusCode::kInvalidArgument);

  const std::string nowhere = path("no/such/dir/out.mp4");
  auto missing_dir = VideoWriter::open(nowhere, 64, 48);
  ASSERT_FALSE(missing_dir.is_ok());
  EXPECT_EQ(missing_dir.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing_dir.status().message().find(nowhere), std::string::npos);
}

TEST_F(VideoWriterTest, DestructorFinishesTheFile) {
  const std::string clip = path("dtor.mp4");
  {
    auto writer = VideoWriter::open(clip, 32, 32);
    ASSERT_TRUE(writer.is_ok()) << writer.status().message();
    ASSERT_TRUE(write_solid_clip(writer->get(), 32, 32, {{0, 0, 255}}, 7).is_ok());
  }  // no close(): the destructor flushes and writes the trailer
  auto reader = VideoReader::open(clip);
  ASSERT_TRUE(reader.is_ok()) << reader.status().message();
  EXPECT_EQ(reader.value()->info().frame_count, 7);
  Status last;
  EXPECT_EQ(count_frames(reader->get(), &last), 7);
  EXPECT_EQ(last.code(), StatusCode::kEndOfStream);
}

}  // namespace
}  // namespace vas
