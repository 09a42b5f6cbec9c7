// Engine: the backend-neutral interface every inference backend implements.
// A backend lives in its own folder (engine/ort, ...) and registers a factory in registry.cpp.
#pragma once

#include <cstddef>
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
  // ort | openvino | opencv (where built) | auto (the fastest present: engine/auto_backend.h)
  std::string backend = "ort";
  int threads = 0;                   // intra-op threads; 0 = backend default
  bool spinning = false;             // spinning threads skew latency on small shared CPUs
  std::string optimization = "all";  // none | basic | extended | all
  std::string library_path;          // backend runtime library (ORT: libonnxruntime.so)
  // Execution providers in order of preference: cpu, cuda, tensorrt, openvino. A provider the
  // runtime lacks is skipped and reported in Engine::notes(); if none is usable, creation fails.
  std::vector<std::string> providers = {"cpu"};
  int warmup_runs = 0;  // runs on zero inputs at creation (fixed-shape inputs only)
  // ORT: plan each input shape's activations as one block ("memory pattern"). Faster for one
  // repeated shape; with varying shapes (pipeline batches of 1..N) every shape keeps its own
  // plan in the arena: 4 channels of yolov3-tiny at 768x576 peaked 130 MiB higher with it.
  bool memory_pattern = true;
  // ORT CPU arena: "shared" (one arena for the process's sessions that grows by what is
  // requested; engine/ort/ort_runtime.h), "session" (ORT's own per-session arena, growing in
  // power-of-two regions) or "none" (plain malloc per tensor: least memory, but measured
  // +15% inference CPU on yolov3-tiny).
  std::string arena = "shared";
  // Per input, the shape "auto" times the backends with; it fills the input's dynamic dims.
  std::vector<std::vector<int64_t>> probe_shapes;
  // OpenVINO backend only (engine/openvino); the other backends ignore these.
  std::string
      openvino_library;        // libopenvino_c.so.*; empty = search (engine/openvino/ov_runtime.h)
  std::string precision_hint;  // "" (the plugin's default for this CPU) | f32 | bf16 | f16
  std::string performance_hint;  // "" (the plugin's default) | latency | throughput
  int streams = 0;               // 0 = as the performance hint decides
  int infer_requests = 0;        // concurrent run() calls in flight; 0 = the plugin's optimum
};

// Latency statistics over the most recent runs (a fixed window; no allocation per run).
struct EngineStats {
  uint64_t runs = 0;
  double mean_ms = 0;    // over all runs
  double median_ms = 0;  // over the window
  double p90_ms = 0;
  double last_ms = 0;
};

// Thread safety: run() may be called concurrently from several threads on one Engine (the ORT
// session is thread-safe and run() keeps no per-call state in the engine); each caller passes
// its own output tensors. Inputs are borrowed for the call. Outputs are written into the
// caller's tensors, which keep their capacity across calls: once an input shape repeats, the
// backend writes straight into them (no copy, no allocation of output buffers).
class Engine {
 public:
  virtual ~Engine() = default;
  virtual const std::vector<TensorInfo>& inputs() const = 0;
  virtual const std::vector<TensorInfo>& outputs() const = 0;
  // outputs is resized to outputs().size(), in that order.
  virtual Status run(const std::vector<TensorView>& inputs, std::vector<Tensor>* outputs) = 0;
  virtual std::string backend_name() const = 0;
  // fp32 | fp16 | int8 (QDQ/QLinear, 8-bit activations) | w8a16, read from the model graph.
  virtual std::string precision() const = 0;
  // Execution providers in use, most preferred first.
  virtual std::vector<std::string> providers() const = 0;
  // Human-readable notes from creation, e.g. a requested provider that was not available.
  virtual std::vector<std::string> notes() const { return {}; }
  virtual EngineStats stats() const = 0;
  // How many run() calls are worth issuing at once: OpenVINO's infer requests (one per stream
  // under the throughput hint); 1 where one run already uses every thread it is given (ORT).
  virtual int parallel_runs() const { return 1; }
};

// Checks inputs against an engine's declared inputs (count, data, dtype, shape with dynamic
// dims); the message names the model and the input. Shared by every backend's run().
Status check_run_inputs(const std::string& model, const std::vector<TensorInfo>& declared,
                        const std::vector<TensorView>& in);

// Creates an engine for the model file with the backend named in options.backend.
Result<std::unique_ptr<Engine>> create_engine(const std::string& model_path,
                                              const EngineOptions& options);
// Same, from a model held in memory (copied by the backend as needed); name is used in messages.
Result<std::unique_ptr<Engine>> create_engine_from_memory(const void* data, size_t size,
                                                          const std::string& name,
                                                          const EngineOptions& options);

// Names of the backends compiled into this build.
std::vector<std::string> available_backends();

}  // namespace vas
