#include "core/status.h"

#include <string>

namespace vas {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "VAS_OK";
    case StatusCode::kEndOfStream:
      return "VAS_END_OF_STREAM";
    case StatusCode::kInvalidArgument:
      return "VAS_ERR_INVALID_ARGUMENT";
    case StatusCode::kNotFound:
      return "VAS_ERR_NOT_FOUND";
    case StatusCode::kIoError:
      return "VAS_ERR_IO";
    case StatusCode::kUnsupported:
      return "VAS_ERR_UNSUPPORTED";
    case StatusCode::kInvalidModel:
      return "VAS_ERR_INVALID_MODEL";
    case StatusCode::kBackendUnavailable:
      return "VAS_ERR_BACKEND_UNAVAILABLE";
    case StatusCode::kRuntimeError:
      return "VAS_ERR_RUNTIME";
    case StatusCode::kOutOfMemory:
      return "VAS_ERR_OUT_OF_MEMORY";
    case StatusCode::kInvalidConfig:
      return "VAS_ERR_INVALID_CONFIG";
    case StatusCode::kTimeout:
      return "VAS_ERR_TIMEOUT";
    case StatusCode::kPoolExhausted:
      return "VAS_ERR_POOL_EXHAUSTED";
    case StatusCode::kInternal:
      return "VAS_ERR_INTERNAL";
    case StatusCode::kCancelled:
      return "VAS_ERR_CANCELLED";
  }
  return "VAS_ERR_UNKNOWN";
}

std::string Status::bounded_message(std::string m) {
  if (m.size() <= kMaxMessageBytes) return m;
  const size_t total = m.size();
  size_t cut = kMaxMessageBytes - 64;  // room for the note below
  while (cut > 0 && (static_cast<unsigned char>(m[cut]) & 0xC0) == 0x80) --cut;
  m.resize(cut);
  m += "... (" + std::to_string(total - cut) + " more bytes cut)";
  return m;
}

}  // namespace vas
