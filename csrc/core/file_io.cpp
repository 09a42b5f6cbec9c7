#include "core/file_io.h"

#include <fstream>

namespace vas {

bool read_file_bytes(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return false;
  const std::streamoff size = f.tellg();
  if (size < 0) return false;
  out->assign(static_cast<size_t>(size), '\0');
  f.seekg(0);
  return static_cast<bool>(f.read(out->data(), static_cast<std::streamsize>(size)));
}

}  // namespace vas
