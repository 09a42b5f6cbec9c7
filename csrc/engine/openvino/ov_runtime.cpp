#include "engine/openvino/ov_runtime.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "engine/library_search.h"

namespace vas {
namespace {

constexpr const char* kInstallHint =
    "install the optional 'openvino' pip package (pip install openvino) into the environment "
    "vasdk runs in, or set VASDK_OPENVINO_LIBRARY or the option 'openvino_library' to "
    "libopenvino_c.so";

std::vector<std::string> libs_in(const std::string& dir) {
  return libraries_in(dir, "libopenvino_c.so");
}

struct LoadedRuntimes {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<OvRuntime>> by_path;
};

LoadedRuntimes& loaded() {
  static auto* runtimes = new LoadedRuntimes();  // intentionally never destroyed (see header)
  return *runtimes;
}

template <typename Fn>
bool resolve(void* handle, const char* name, Fn* out, std::string* missing) {
  *out = reinterpret_cast<Fn>(::dlsym(handle, name));
  if (*out == nullptr && missing != nullptr)
    *missing += (missing->empty() ? "" : ", ") + std::string(name);
  return *out != nullptr;
}

[[maybe_unused]] Result<const OvRuntime*> load_from(const std::string& path) {
  auto& cache = loaded();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto it = cache.by_path.find(path);
  if (it != cache.by_path.end()) return static_cast<const OvRuntime*>(it->second.get());

  // RTLD_LOCAL: OpenVINO's symbols stay out of the global namespace. The wheel's library has
  // RPATH $ORIGIN, so libopenvino.so, TBB and the plugins are found beside it.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = ::dlerror();
    return Status(StatusCode::kBackendUnavailable, "cannot load OpenVINO C library '" + path +
                                                       "': " + (err ? err : "dlopen failed"));
  }
  auto rt = std::make_unique<OvRuntime>();
  OvApi& a = rt->api;
  std::string missing;
  resolve(handle, "ov_get_error_info", &a.get_error_info, &missing);
  resolve(handle, "ov_get_last_err_msg", &a.get_last_err_msg, nullptr);  // optional
  resolve(handle, "ov_free", &a.free, &missing);
  resolve(handle, "ov_get_openvino_version", &a.get_version, &missing);
  resolve(handle, "ov_version_free", &a.version_free, &missing);
  resolve(handle, "ov_core_create", &a.core_create, &missing);
  resolve(handle, "ov_core_free", &a.core_free, &missing);
  resolve(handle, "ov_core_read_model", &a.core_read_model, &missing);
  resolve(handle, "ov_core_read_model_from_memory_buffer", &a.core_read_model_from_memory,
          &missing);
  resolve(handle, "ov_core_compile_model", &a.core_compile_model, &missing);
  resolve(handle, "ov_model_free", &a.model_free, &missing);
  resolve(handle, "ov_compiled_model_inputs_size", &a.compiled_inputs_size, &missing);
  resolve(handle, "ov_compiled_model_outputs_size", &a.compiled_outputs_size, &missing);
  resolve(handle, "ov_compiled_model_input_by_index", &a.compiled_input_by_index, &missing);
  resolve(handle, "ov_compiled_model_output_by_index", &a.compiled_output_by_index, &missing);
  resolve(handle, "ov_compiled_model_get_property", &a.compiled_get_property, &missing);
  resolve(handle, "ov_compiled_model_create_infer_request", &a.compiled_create_infer_request,
          &missing);
  resolve(handle, "ov_compiled_model_free", &a.compiled_free, &missing);
  resolve(handle, "ov_port_get_any_name", &a.port_get_any_name, &missing);
  resolve(handle, "ov_port_get_partial_shape", &a.port_get_partial_shape, &missing);
  resolve(handle, "ov_port_get_element_type", &a.port_get_element_type, &missing);
  resolve(handle, "ov_output_const_port_free", &a.const_port_free, &missing);
  resolve(handle, "ov_partial_shape_free", &a.partial_shape_free, &missing);
  resolve(handle, "ov_shape_create", &a.shape_create, &missing);
  resolve(handle, "ov_shape_free", &a.shape_free, &missing);
  resolve(handle, "ov_tensor_create_from_host_ptr", &a.tensor_create_from_host_ptr, &missing);
  resolve(handle, "ov_tensor_get_shape", &a.tensor_get_shape, &missing);
  resolve(handle, "ov_tensor_get_element_type", &a.tensor_get_element_type, &missing);
  resolve(handle, "ov_tensor_data", &a.tensor_data, &missing);
  resolve(handle, "ov_tensor_free", &a.tensor_free, &missing);
  resolve(handle, "ov_infer_request_set_input_tensor_by_index",
          &a.request_set_input_tensor_by_index, &missing);
  resolve(handle, "ov_infer_request_set_output_tensor_by_index",
          &a.request_set_output_tensor_by_index, &missing);
  resolve(handle, "ov_infer_request_get_output_tensor_by_index",
          &a.request_get_output_tensor_by_index, &missing);
  resolve(handle, "ov_infer_request_infer", &a.request_infer, &missing);
  resolve(handle, "ov_infer_request_free", &a.request_free, &missing);
  if (!missing.empty()) {
    ::dlclose(handle);
    return Status(StatusCode::kBackendUnavailable, "'" + path +
                                                       "' is not a usable OpenVINO C library "
                                                       "(missing " +
                                                       missing + ")");
  }
  rt->path = path;
  ov_version_t v{};
  if (a.get_version(&v) == OV_STATUS_OK) {
    rt->version = v.buildNumber ? v.buildNumber : "?";
    a.version_free(&v);
  } else {
    rt->version = "?";
  }
  rt->version_year = std::atoi(rt->version.c_str());
  if (const ov_status_e st = a.core_create(&rt->core); st != OV_STATUS_OK) {
    Status s = rt->error(st, StatusCode::kBackendUnavailable, "OpenVINO ov_core_create");
    return s;  // the library stays loaded: OpenVINO may have started threads
  }
  const OvRuntime* out = rt.get();
  cache.by_path.emplace(path, std::move(rt));
  return out;
}

}  // namespace

Status OvRuntime::error(ov_status_e st, StatusCode code, const std::string& what) const {
  std::string msg = what + " failed: ";
  const char* name = api.get_error_info ? api.get_error_info(st) : nullptr;
  msg += (name ? name : "status") + std::string(" (") + std::to_string(static_cast<int>(st)) + ")";
  if (api.get_last_err_msg) {
    if (const char* detail = api.get_last_err_msg()) {
      std::string d = detail;
      api.free(detail);
      // OpenVINO's messages end in newlines and sometimes carry a source-file prefix line.
      while (!d.empty() && (d.back() == '\n' || d.back() == ' ')) d.pop_back();
      if (!d.empty()) msg += ": " + d;
    }
  }
  if (st == OV_STATUS_NOT_IMPLEMENTED) code = StatusCode::kUnsupported;
  return {code, msg};
}

std::vector<std::string> openvino_library_candidates() {
  std::vector<std::string> dirs;
  // Pip layout: site-packages/vasdk/libvasdk.so beside site-packages/openvino/libs/.
  const std::string self = this_library_path();
  if (!self.empty()) dirs.push_back(dir_of(dir_of(self)) + "/openvino/libs");
  if (const char* venv = std::getenv("VIRTUAL_ENV")) {
    for (const auto& sp : site_packages_of(venv)) dirs.push_back(sp + "/openvino/libs");
  }
#ifdef VASDK_OPENVINO_PIP_HINT
  dirs.emplace_back(VASDK_OPENVINO_PIP_HINT);
#endif
  std::vector<std::string> candidates;
  for (const auto& d : dirs) {
    for (const auto& lib : libs_in(d)) {
      if (std::find(candidates.begin(), candidates.end(), lib) == candidates.end()) {
        candidates.push_back(lib);
      }
    }
  }
  candidates.emplace_back("libopenvino_c.so");  // left to the system loader
  return candidates;
}

// OpenVINO's TBB dlopen()s libtbbbind with RTLD_DEEPBIND, which the ASan and TSan runtimes
// answer by aborting the process: a sanitizer build refuses the backend instead.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VAS_OV_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VAS_OV_UNDER_SANITIZER 1
#endif
#endif

Result<const OvRuntime*> load_openvino_runtime(const std::string& explicit_path) {
#ifdef VAS_OV_UNDER_SANITIZER
  (void)explicit_path;
  return Status(StatusCode::kBackendUnavailable,
                "backend 'openvino': not available in a sanitizer build (OpenVINO's TBB loads "
                "libraries with RTLD_DEEPBIND, which ASan and TSan abort on)");
#else
  if (!explicit_path.empty()) {
    if (!is_regular_file(explicit_path)) {
      return Status(StatusCode::kBackendUnavailable,
                    "OpenVINO library '" + explicit_path +
                        "' (from option 'openvino_library') does not exist; " + kInstallHint);
    }
    return load_from(explicit_path);
  }
  if (const char* env = std::getenv("VASDK_OPENVINO_LIBRARY"); env && *env) {
    if (!is_regular_file(env)) {
      return Status(StatusCode::kBackendUnavailable,
                    std::string("OpenVINO library '") + env +
                        "' (from VASDK_OPENVINO_LIBRARY) does not exist; " + kInstallHint);
    }
    return load_from(env);
  }
  std::string tried;
  for (const auto& candidate : openvino_library_candidates()) {
    auto rt = load_from(candidate);
    if (rt.is_ok()) return rt;
    tried += "\n  " + rt.status().message();
  }
  return Status(StatusCode::kBackendUnavailable,
                std::string("backend 'openvino': no OpenVINO C library found; ") + kInstallHint +
                    ". Tried:" + tried);
#endif
}

}  // namespace vas
