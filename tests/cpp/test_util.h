// Shared helpers for the C++ tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/file_io.h"
#include "core/image.h"
#include "io/video_reader.h"

// Which sanitizer runtime this test binary runs under: gcc defines __SANITIZE_*__, clang
// answers __has_feature. Both must be asked, or a check meant only for plain builds runs
// under one compiler's sanitizers.
#if defined(__SANITIZE_ADDRESS__)
#define VAS_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VAS_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define VAS_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VAS_TEST_TSAN 1
#endif
#endif

namespace vas::testing {

#if defined(VAS_TEST_ASAN)
constexpr bool kAddressSanitized = true;
#else
constexpr bool kAddressSanitized = false;
#endif
#if defined(VAS_TEST_TSAN)
constexpr bool kThreadSanitized = true;
#else
constexpr bool kThreadSanitized = false;
#endif
constexpr bool kSanitized = kAddressSanitized || kThreadSanitized;

// Path of a real asset installed by scripts/setup.sh; ctest sets VASDK_ASSETS.
inline std::string asset(const std::string& name) {
  const char* dir = std::getenv("VASDK_ASSETS");
  std::string path = std::string(dir ? dir : ".cache/assets") + "/" + name;
  if (!std::ifstream(path).good()) {
    ADD_FAILURE() << "asset " << path << " is missing; run scripts/setup.sh";
  }
  return path;
}

inline std::string temp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t ? t : "/tmp";
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_file(const std::string& path) {
  std::string s;
  EXPECT_TRUE(read_file_bytes(path, &s)) << "cannot read " << path;
  return s;
}

// Frame `index` (0-based) of a video, as a packed BGR24 image.
inline Image read_frame(const std::string& path, int index) {
  auto reader = VideoReader::open(path);
  EXPECT_TRUE(reader.is_ok()) << reader.status().message();
  Frame f;
  for (int i = 0; i <= index; ++i) {
    Status st = reader.value()->read(&f);
    EXPECT_TRUE(st.is_ok()) << st.message();
  }
  Image img;
  img.format = f.image.format;
  img.width = f.image.width;
  img.height = f.image.height;
  img.data.resize(static_cast<size_t>(img.width) * img.height * 3);
  for (int y = 0; y < img.height; ++y) {
    std::copy_n(f.image.planes[0] + static_cast<size_t>(y) * f.image.strides[0], img.width * 3,
                img.data.data() + static_cast<size_t>(y) * img.width * 3);
  }
  return img;
}

}  // namespace vas::testing
