// Locates, dlopen()s and keeps the ONNX Runtime shared library.
// The library is never linked: ORT versions its symbols per release, so a linked binary only
// starts against one release, while dlopen + OrtGetApiBase works across them.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

struct OrtApi;
struct OrtEnv;

namespace vas {

// One loaded ORT library plus its process-wide OrtEnv. Instances live until process exit
// (unloading ORT while sessions may exist is unsafe); they are immutable after load.
struct OrtRuntime {
  std::string path;
  const OrtApi* api = nullptr;
  OrtEnv* env = nullptr;
  std::string version;
  // A CPU arena registered on `env` for sessions that opt in ("session.use_env_allocators"):
  // it grows by what is requested (kSameAsRequested) instead of doubling, and the sessions of
  // one process share it. Empty error when registered; otherwise why not (sessions then keep
  // their own arenas).
  bool shared_arena = false;
  std::string shared_arena_error;
};

// Search order: explicit path, then $VASDK_ORT_LIBRARY, then the onnxruntime pip package
// (beside this library, in $VIRTUAL_ENV, in the build-time hint), then the system loader.
// An explicit path or env var that fails is an error; it never falls through silently.
Result<const OrtRuntime*> load_ort_runtime(const std::string& explicit_path);

// The candidate paths tried for an empty explicit path, in order (for messages and tests).
std::vector<std::string> ort_library_candidates();

}  // namespace vas
