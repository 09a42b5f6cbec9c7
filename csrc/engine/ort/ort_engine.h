// ONNX Runtime backend. The only code in vasdk that includes ORT headers.
#pragma once

#include <memory>
#include <string>

#include "engine/engine.h"

namespace vas {

Result<std::unique_ptr<Engine>> create_ort_engine(const std::string& model_path,
                                                  const EngineOptions& options);

}  // namespace vas
