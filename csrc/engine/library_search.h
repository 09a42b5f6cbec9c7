// Finding a backend's runtime library on disk: the helpers the ORT and OpenVINO loaders share
// (the wheels ship versioned files without symlinks, inside a Python environment's
// site-packages).
#pragma once

#include <string>
#include <vector>

namespace vas {

bool is_regular_file(const std::string& path);
// The directory part of a path ("." when there is none).
std::string dir_of(const std::string& path);
// Files in `dir` whose name starts with `prefix` (e.g. "libonnxruntime.so"), longest name first
// (the versioned file before a plain symlink), then by name, descending.
std::vector<std::string> libraries_in(const std::string& dir, const std::string& prefix);
// site-packages folders of a venv or prefix: PREFIX/lib/python3.*/site-packages, sorted.
std::vector<std::string> site_packages_of(const std::string& prefix);
// The path of the binary holding vasdk's core (libvasdk.so, a Python module or a test), or "".
std::string this_library_path();

}  // namespace vas
