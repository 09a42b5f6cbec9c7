// ONNX Runtime backend. The only code in vasdk that includes ORT headers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "engine/engine.h"

namespace vas {

Result<std::unique_ptr<Engine>> create_ort_engine(const std::string& model_path,
                                                  const EngineOptions& options);
Result<std::unique_ptr<Engine>> create_ort_engine_from_memory(const void* data, size_t size,
                                                              const std::string& name,
                                                              const EngineOptions& options);

}  // namespace vas
