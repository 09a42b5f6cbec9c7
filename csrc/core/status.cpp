#include "core/status.h"

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

}  // namespace vas
