// "backend": "auto": the fastest inference backend present for this model on this CPU.
//
// Rules cannot settle it: OpenVINO is about 5x faster than ONNX Runtime in bf16 on AMX, on par
// in f32 on AVX2, and it varies by model and quantisation format. So the first creation of a
// model measures every backend that loads (median latency at the requested threads, runs
// interleaved so that load noise hits both alike) and keeps the fastest; ONNX Runtime, the
// default, unless another is at least kAutoMargin faster. The choice is cached per model
// bytes, CPU (model name, ISA flags, core count), backend versions and the options that change
// speed, in a private directory (0700): later creations load only the chosen backend. The cache
// holds the choice and the timings only, never model bytes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace vas {

// A backend must beat ONNX Runtime's median by this fraction to be chosen over it.
constexpr double kAutoMargin = 0.05;

// A backend whose runtime loaded, with its version (part of the cache key).
struct AutoCandidate {
  std::string backend;
  std::string version;
};

// Creates the engine of one named backend for the model being chosen for.
using BackendFactory = std::function<Result<std::unique_ptr<Engine>>(const std::string& backend)>;

// The model's identity for the cache: its bytes (data/size), or the file `path` when data is
// null. `candidates` are the backends to try, the default (ONNX Runtime) first; `skipped`
// says why others are absent and goes into the notes. The returned engine is the chosen
// backend's; its notes() say what was chosen, from which timings, and whether from the cache.
Result<std::unique_ptr<Engine>> create_auto_engine(const std::string& path, const void* data,
                                                   size_t size, const EngineOptions& options,
                                                   const std::vector<AutoCandidate>& candidates,
                                                   const std::vector<std::string>& skipped,
                                                   const BackendFactory& create);

// Where choices are cached: $VASDK_CACHE_DIR, else $XDG_CACHE_HOME/vasdk, else
// $HOME/.cache/vasdk; "" when none is set. The auto-backend files live in its backends/.
std::string vasdk_cache_dir();

}  // namespace vas
