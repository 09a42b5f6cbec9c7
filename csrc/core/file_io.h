// Whole-file reads. One sized read instead of a character at a time: model files are tens of
// MB, and a stream iterator read of one was a visible share of engine creation.
#pragma once

#include <string>

namespace vas {

// Replaces *out with the file's bytes; false when the file cannot be opened or read whole.
bool read_file_bytes(const std::string& path, std::string* out);

}  // namespace vas
