#include "engine/library_search.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>

namespace vas {

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string dir_of(const std::string& path) {
  auto pos = path.rfind('/');
  return pos == std::string::npos ? "." : path.substr(0, pos);
}

std::vector<std::string> libraries_in(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> found;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind(prefix, 0) == 0) found.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a > b;
  });
  return found;
}

std::vector<std::string> site_packages_of(const std::string& prefix) {
  std::vector<std::string> out;
  const std::string lib = prefix + "/lib";
  if (DIR* d = ::opendir(lib.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("python3", 0) == 0) out.push_back(lib + "/" + name + "/site-packages");
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string this_library_path() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&this_library_path), &info) && info.dli_fname) {
    return info.dli_fname;
  }
  return {};
}

}  // namespace vas
