// Engine: the backend-neutral interface every inference backend implements.
// A backend lives in its own folder (engine/ort, ...) and registers a factory in registry.cpp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace vas {

struct TensorInfo {
  std::string name;
  DataType dtype = DataType::kFloat32;
  std::vector<int64_t> shape;  // -1 marks a dynamic dim
};

struct EngineOptions {
  std::string backend = "ort";
  int threads = 0;                   // intra-op threads; 0 = backend default
  bool spinning = false;             // spinning threads skew latency on small shared CPUs
  std::string optimization = "all";  // none | basic | extended | all
  std::string library_path;          // backend runtime library (ORT: libonnxruntime.so), optional
};

// Thread safety: run() may be called from one thread at a time per Engine; use one Engine per
// worker for parallel runs. Inputs are borrowed for the call; outputs are written into the
// caller's tensors, which keep their capacity across calls.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual const std::vector<TensorInfo>& inputs() const = 0;
  virtual const std::vector<TensorInfo>& outputs() const = 0;
  // outputs is resized to outputs().size(), in that order.
  virtual Status run(const std::vector<TensorView>& inputs, std::vector<Tensor>* outputs) = 0;
  virtual std::string backend_name() const = 0;
};

// Creates an engine for the model file with the backend named in options.backend.
Result<std::unique_ptr<Engine>> create_engine(const std::string& model_path,
                                              const EngineOptions& options);

// Names of the backends compiled into this build.
std::vector<std::string> available_backends();

}  // namespace vas
