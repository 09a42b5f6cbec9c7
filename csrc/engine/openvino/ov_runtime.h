// Locates, dlopen()s and keeps OpenVINO's C API library (libopenvino_c.so.*).
// The library is never linked: the `openvino` wheel is optional, its sonames carry the release
// (libopenvino_c.so.2641), and vasdk must build and run without it (on ONNX Runtime).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "engine/openvino/ov_c_api.h"

namespace vas {

// The resolved C API functions of one loaded library. Optional entries may be null.
struct OvApi {
  ov::GetErrorInfoFn get_error_info = nullptr;
  ov::GetLastErrMsgFn get_last_err_msg = nullptr;  // optional
  ov::FreeFn free = nullptr;
  ov::GetVersionFn get_version = nullptr;
  ov::VersionFreeFn version_free = nullptr;
  ov::CoreCreateFn core_create = nullptr;
  ov::CoreFreeFn core_free = nullptr;
  ov::CoreReadModelFn core_read_model = nullptr;
  ov::CoreReadModelFromMemoryFn core_read_model_from_memory = nullptr;
  ov::CoreCompileModelFn core_compile_model = nullptr;
  ov::ModelFreeFn model_free = nullptr;
  ov::CompiledModelSizeFn compiled_inputs_size = nullptr;
  ov::CompiledModelSizeFn compiled_outputs_size = nullptr;
  ov::CompiledModelPortFn compiled_input_by_index = nullptr;
  ov::CompiledModelPortFn compiled_output_by_index = nullptr;
  ov::CompiledModelGetPropertyFn compiled_get_property = nullptr;
  ov::CompiledModelCreateRequestFn compiled_create_infer_request = nullptr;
  ov::CompiledModelFreeFn compiled_free = nullptr;
  ov::PortGetAnyNameFn port_get_any_name = nullptr;
  ov::PortGetPartialShapeFn port_get_partial_shape = nullptr;
  ov::PortGetElementTypeFn port_get_element_type = nullptr;
  ov::ConstPortFreeFn const_port_free = nullptr;
  ov::PartialShapeFreeFn partial_shape_free = nullptr;
  ov::ShapeCreateFn shape_create = nullptr;
  ov::ShapeFreeFn shape_free = nullptr;
  ov::TensorCreateFromHostPtrFn tensor_create_from_host_ptr = nullptr;
  ov::TensorGetShapeFn tensor_get_shape = nullptr;
  ov::TensorGetElementTypeFn tensor_get_element_type = nullptr;
  ov::TensorDataFn tensor_data = nullptr;
  ov::TensorFreeFn tensor_free = nullptr;
  ov::RequestSetTensorByIndexFn request_set_input_tensor_by_index = nullptr;
  ov::RequestSetTensorByIndexFn request_set_output_tensor_by_index = nullptr;
  ov::RequestGetTensorByIndexFn request_get_output_tensor_by_index = nullptr;
  ov::RequestInferFn request_infer = nullptr;
  ov::RequestFreeFn request_free = nullptr;
};

// One loaded OpenVINO C library and its process-wide ov_core. Instances live until process exit
// (unloading OpenVINO while compiled models may exist is unsafe); immutable after load. The
// ov_core is shared by every engine: OpenVINO's Core is thread-safe for read and compile.
struct OvRuntime {
  std::string path;
  std::string version;   // ov_get_openvino_version's buildNumber, e.g. "2026.4.1-22982-..."
  int version_year = 0;  // 2026 for "2026.4.1-...", 0 if unparsed
  OvApi api;
  ov_core* core = nullptr;

  // A failed call as a Status: "<what>: <status name> (<code>): <OpenVINO's message>".
  // OpenVINO keeps one process-wide last message, so under concurrent failures the detail may
  // belong to another thread's call; the call and status code are always this one's.
  Status error(ov_status_e st, StatusCode code, const std::string& what) const;
};

// Search order: explicit path (option "openvino_library"), then $VASDK_OPENVINO_LIBRARY, then
// the openvino pip package (beside this library, in $VIRTUAL_ENV, in the build-time hint), then
// the system loader. An explicit path or env var that fails is an error; it never falls
// through silently. A missing library is kBackendUnavailable with install instructions.
Result<const OvRuntime*> load_openvino_runtime(const std::string& explicit_path);

// The candidate paths tried for an empty explicit path, in order (for messages and tests).
std::vector<std::string> openvino_library_candidates();

}  // namespace vas
