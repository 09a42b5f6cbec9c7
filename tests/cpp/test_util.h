// Shared helpers for the C++ tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

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
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace vas::testing
