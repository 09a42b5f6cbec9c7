#include "engine/ort/ort_runtime.h"

#include <dirent.h>
#include <dlfcn.h>
#include <onnxruntime_c_api.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "engine/library_search.h"

namespace vas {
namespace {

std::vector<std::string> libs_in(const std::string& dir) {
  return libraries_in(dir, "libonnxruntime.so");
}

struct LoadedRuntimes {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<OrtRuntime>> by_path;
};

LoadedRuntimes& loaded() {
  static auto* runtimes = new LoadedRuntimes();  // intentionally never destroyed (see header)
  return *runtimes;
}

// Registers the shared CPU arena on rt's env (see OrtRuntime::shared_arena). ORT's own session
// arena grows in power-of-two regions: 4 channels of yolov3-tiny at 768x576, batches of 4,
// held two 128 MiB regions of which 200 MiB were touched; growing by the request, the
// process peaked 85 MiB lower (README, "Memory").
void register_shared_arena(OrtRuntime* rt) {
  const OrtApi* api = rt->api;
  auto fail = [&](OrtStatus* st, const char* what) {
    rt->shared_arena_error = std::string(what) + ": " + api->GetErrorMessage(st);
    api->ReleaseStatus(st);
  };
  const char* keys[] = {"arena_extend_strategy", "initial_chunk_size_bytes"};
  const size_t values[] = {1 /* kSameAsRequested */, size_t{1} << 20};
  OrtArenaCfg* cfg = nullptr;
  if (OrtStatus* st = api->CreateArenaCfgV2(keys, values, 2, &cfg)) return fail(st, "arena config");
  OrtMemoryInfo* info = nullptr;
  if (OrtStatus* st = api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &info)) {
    api->ReleaseArenaCfg(cfg);
    return fail(st, "arena memory info");
  }
  OrtStatus* st = api->CreateAndRegisterAllocator(rt->env, info, cfg);
  api->ReleaseMemoryInfo(info);
  api->ReleaseArenaCfg(cfg);
  if (st) return fail(st, "CreateAndRegisterAllocator");
  rt->shared_arena = true;
}

Result<const OrtRuntime*> load_from(const std::string& path) {
  auto& cache = loaded();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto it = cache.by_path.find(path);
  if (it != cache.by_path.end()) return static_cast<const OrtRuntime*>(it->second.get());

  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = ::dlerror();
    return Status(StatusCode::kBackendUnavailable, "cannot load ONNX Runtime library '" + path +
                                                       "': " + (err ? err : "dlopen failed"));
  }
  using GetApiBaseFn = const OrtApiBase* (*)();
  auto get_base = reinterpret_cast<GetApiBaseFn>(::dlsym(handle, "OrtGetApiBase"));
  if (!get_base) {
    ::dlclose(handle);
    return Status(StatusCode::kBackendUnavailable,
                  "'" + path + "' is not an ONNX Runtime library (no OrtGetApiBase symbol)");
  }
  const OrtApiBase* base = get_base();
  const OrtApi* api = base ? base->GetApi(ORT_API_VERSION) : nullptr;
  const std::string version = base && base->GetVersionString ? base->GetVersionString() : "?";
  if (!api) {
    ::dlclose(handle);
    return Status(StatusCode::kBackendUnavailable,
                  "ONNX Runtime " + version + " at '" + path + "' does not provide C API version " +
                      std::to_string(ORT_API_VERSION) + " (too old for this build)");
  }
  OrtEnv* env = nullptr;
  if (OrtStatus* st = api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "vasdk", &env)) {
    std::string msg = api->GetErrorMessage(st);
    api->ReleaseStatus(st);
    return Status(StatusCode::kBackendUnavailable, "ONNX Runtime CreateEnv failed: " + msg);
  }
  auto rt = std::make_unique<OrtRuntime>();
  rt->path = path;
  rt->api = api;
  rt->env = env;
  rt->version = version;
  register_shared_arena(rt.get());
  const OrtRuntime* out = rt.get();
  cache.by_path.emplace(path, std::move(rt));
  return out;
}

}  // namespace

std::vector<std::string> ort_library_candidates() {
  std::vector<std::string> dirs;
  // Pip layout: site-packages/vasdk/libvasdk.so beside site-packages/onnxruntime/capi/.
  const std::string self = this_library_path();
  if (!self.empty()) dirs.push_back(dir_of(dir_of(self)) + "/onnxruntime/capi");
  if (const char* venv = std::getenv("VIRTUAL_ENV")) {
    for (const auto& sp : site_packages_of(venv)) dirs.push_back(sp + "/onnxruntime/capi");
  }
#ifdef VASDK_ORT_PIP_HINT
  dirs.push_back(VASDK_ORT_PIP_HINT);
#endif
  std::vector<std::string> candidates;
  for (const auto& d : dirs) {
    for (const auto& lib : libs_in(d)) {
      if (std::find(candidates.begin(), candidates.end(), lib) == candidates.end()) {
        candidates.push_back(lib);
      }
    }
  }
  // Left to the system loader (LD_LIBRARY_PATH, ld.so.cache).
  candidates.emplace_back("libonnxruntime.so.1");
  candidates.emplace_back("libonnxruntime.so");
  return candidates;
}

Result<const OrtRuntime*> load_ort_runtime(const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (!is_regular_file(explicit_path)) {
      return Status(StatusCode::kBackendUnavailable,
                    "ONNX Runtime library '" + explicit_path + "' (from options) does not exist");
    }
    return load_from(explicit_path);
  }
  if (const char* env = std::getenv("VASDK_ORT_LIBRARY"); env && *env) {
    if (!is_regular_file(env)) {
      return Status(StatusCode::kBackendUnavailable,
                    std::string("ONNX Runtime library '") + env +
                        "' (from VASDK_ORT_LIBRARY) does not exist");
    }
    return load_from(env);
  }
  std::string tried;
  for (const auto& candidate : ort_library_candidates()) {
    auto rt = load_from(candidate);
    if (rt.is_ok()) return rt;
    tried += "\n  " + rt.status().message();
  }
  return Status(StatusCode::kBackendUnavailable,
                "no usable ONNX Runtime library found; install the 'onnxruntime' pip package or "
                "set VASDK_ORT_LIBRARY. Tried:" +
                    tried);
}

}  // namespace vas
