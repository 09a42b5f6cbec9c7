// OpenVINO backend (`"backend": "openvino"`). The only code in vasdk that knows OpenVINO.
// Runs ONNX models through OpenVINO's C API, loaded at run time from the optional `openvino`
// pip package (see ov_runtime.h). Runs FP32 and FP16 models and INT8 QDQ models
// (QuantizeLinear/DequantizeLinear with 8-bit zero points, as `vasdk model quantize` writes
// them); refuses 16-bit QDQ (w8a16) models and reports the reader's error, with the formats it
// runs, for models OpenVINO cannot read (e.g. com.microsoft QOperator ops). Dynamic input dims
// stay dynamic (no reshape): OpenVINO's CPU plugin runs them as they come. There is no
// compiled-model cache: every engine compiles its model at creation.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "engine/engine.h"

namespace vas {

Result<std::unique_ptr<Engine>> create_openvino_engine(const std::string& model_path,
                                                       const EngineOptions& options);
Result<std::unique_ptr<Engine>> create_openvino_engine_from_memory(const void* data, size_t size,
                                                                   const std::string& name,
                                                                   const EngineOptions& options);

}  // namespace vas
