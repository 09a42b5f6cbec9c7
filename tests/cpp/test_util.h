// Shared helpers for the C++ tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace vas::testing {

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
