// OpenCV DNN backend (built with -DVASDK_WITH_OPENCV_DNN=ON). The only code that includes
// OpenCV's DNN headers. Useful on boards where OpenCV is present and ONNX Runtime is not.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "engine/engine.h"

namespace vas {

Result<std::unique_ptr<Engine>> create_opencv_engine(const std::string& model_path,
                                                     const EngineOptions& options);
Result<std::unique_ptr<Engine>> create_opencv_engine_from_memory(const void* data, size_t size,
                                                                 const std::string& name,
                                                                 const EngineOptions& options);

}  // namespace vas
