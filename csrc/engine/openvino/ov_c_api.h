// The few declarations of OpenVINO's C API (openvino/c/*.h) that the OpenVINO backend uses,
// written out here because the `openvino` wheel, which ships the real headers, is optional at
// build time. Checked against the headers of the PyPI wheel openvino 2026.4.1
// (openvino/include/openvino/c/ov_common.h, ov_core.h, ov_model.h, ov_node.h, ov_shape.h,
// ov_partial_shape.h, ov_dimension.h, ov_tensor.h, ov_compiled_model.h, ov_infer_request.h).
// Only types whose layout has been stable since the 2022.1 C API are declared; the functions are
// resolved with dlsym() into OvApi (ov_runtime.h), never linked.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

// Opaque handles.
struct ov_core;
struct ov_model;
struct ov_compiled_model;
struct ov_infer_request;
struct ov_tensor;
struct ov_output_const_port;

// ov_status_e: 0 is OK, failures are negative.
enum ov_status_e : int {
  OV_STATUS_OK = 0,
  OV_STATUS_GENERAL_ERROR = -1,
  OV_STATUS_NOT_IMPLEMENTED = -2,
  OV_STATUS_NOT_FOUND = -5,
};

// ov_element_type_e. The leading values (up to I64 = 10) are the same in every release; later
// releases inserted U2, U3 and U6 after U1, which moved U8 and the rest. The backend maps only
// the stable ones, plus U8 where the loaded release is the checked one or newer (ov_runtime.h).
enum ov_element_type_e : unsigned {
  OV_ELEM_DYNAMIC = 0,
  OV_ELEM_BOOLEAN = 1,
  OV_ELEM_BF16 = 2,
  OV_ELEM_F16 = 3,
  OV_ELEM_F32 = 4,
  OV_ELEM_F64 = 5,
  OV_ELEM_I4 = 6,
  OV_ELEM_I8 = 7,
  OV_ELEM_I16 = 8,
  OV_ELEM_I32 = 9,
  OV_ELEM_I64 = 10,
  OV_ELEM_U8_2026 = 16,  // U1, U2, U3, U4, U6 come before it in 2026.4
};

struct ov_version_t {
  const char* buildNumber;
  const char* description;
};

struct ov_shape_t {
  int64_t rank;
  int64_t* dims;
};

struct ov_dimension_t {
  int64_t min;
  int64_t max;  // -1: unbounded
};

struct ov_partial_shape_t {
  ov_dimension_t rank;  // ov_rank_t
  ov_dimension_t* dims;
};

}  // extern "C"

namespace vas::ov {

// Function pointer types, one per C API function used.
using GetErrorInfoFn = const char* (*)(ov_status_e);
using GetLastErrMsgFn = const char* (*)();  // 2024.x and later; optional
using FreeFn = void (*)(const char*);
using GetVersionFn = ov_status_e (*)(ov_version_t*);
using VersionFreeFn = void (*)(ov_version_t*);
using CoreCreateFn = ov_status_e (*)(ov_core**);
using CoreFreeFn = void (*)(ov_core*);
using CoreReadModelFn = ov_status_e (*)(const ov_core*, const char*, const char*, ov_model**);
using CoreReadModelFromMemoryFn = ov_status_e (*)(const ov_core*, const char*, size_t,
                                                  const ov_tensor*, ov_model**);
// Variadic: property_args_size counts the key and value strings that follow.
using CoreCompileModelFn = ov_status_e (*)(const ov_core*, const ov_model*, const char*, size_t,
                                           ov_compiled_model**, ...);
using ModelFreeFn = void (*)(ov_model*);
using CompiledModelSizeFn = ov_status_e (*)(const ov_compiled_model*, size_t*);
using CompiledModelPortFn = ov_status_e (*)(const ov_compiled_model*, size_t,
                                            ov_output_const_port**);
using CompiledModelGetPropertyFn = ov_status_e (*)(const ov_compiled_model*, const char*, char**);
using CompiledModelCreateRequestFn = ov_status_e (*)(const ov_compiled_model*, ov_infer_request**);
using CompiledModelFreeFn = void (*)(ov_compiled_model*);
using PortGetAnyNameFn = ov_status_e (*)(const ov_output_const_port*, char**);
using PortGetPartialShapeFn = ov_status_e (*)(const ov_output_const_port*, ov_partial_shape_t*);
using PortGetElementTypeFn = ov_status_e (*)(const ov_output_const_port*, ov_element_type_e*);
using ConstPortFreeFn = void (*)(ov_output_const_port*);
using PartialShapeFreeFn = void (*)(ov_partial_shape_t*);
using ShapeCreateFn = ov_status_e (*)(int64_t, const int64_t*, ov_shape_t*);
using ShapeFreeFn = ov_status_e (*)(ov_shape_t*);
using TensorCreateFromHostPtrFn = ov_status_e (*)(ov_element_type_e, ov_shape_t, void*,
                                                  ov_tensor**);
using TensorGetShapeFn = ov_status_e (*)(const ov_tensor*, ov_shape_t*);
using TensorGetElementTypeFn = ov_status_e (*)(const ov_tensor*, ov_element_type_e*);
using TensorDataFn = ov_status_e (*)(const ov_tensor*, void**);
using TensorFreeFn = void (*)(ov_tensor*);
using RequestSetTensorByIndexFn = ov_status_e (*)(ov_infer_request*, size_t, const ov_tensor*);
using RequestGetTensorByIndexFn = ov_status_e (*)(const ov_infer_request*, size_t, ov_tensor**);
using RequestInferFn = ov_status_e (*)(ov_infer_request*);
using RequestFreeFn = void (*)(ov_infer_request*);

}  // namespace vas::ov
