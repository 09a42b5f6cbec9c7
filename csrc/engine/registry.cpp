#include <utility>

#include "engine/auto_backend.h"
#include "engine/engine.h"
#include "engine/openvino/ov_engine.h"
#include "engine/openvino/ov_runtime.h"
#include "engine/ort/ort_engine.h"
#include "engine/ort/ort_runtime.h"
#ifdef VASDK_WITH_OPENCV_DNN
#include "engine/opencv/opencv_engine.h"
#endif

namespace vas {
namespace {

// A model is named by a path, or given as bytes (data != nullptr).
struct ModelSource {
  std::string name;
  const void* data = nullptr;
  size_t size = 0;
};

using Factory = Result<std::unique_ptr<Engine>> (*)(const ModelSource&, const EngineOptions&);

Result<std::unique_ptr<Engine>> make_ort(const ModelSource& m, const EngineOptions& o) {
  return m.data ? create_ort_engine_from_memory(m.data, m.size, m.name, o)
                : create_ort_engine(m.name, o);
}

// Always built: OpenVINO is loaded at run time, so without the wheel creation fails with
// kBackendUnavailable and an install hint, like ORT without onnxruntime.
Result<std::unique_ptr<Engine>> make_openvino(const ModelSource& m, const EngineOptions& o) {
  return m.data ? create_openvino_engine_from_memory(m.data, m.size, m.name, o)
                : create_openvino_engine(m.name, o);
}

#ifdef VASDK_WITH_OPENCV_DNN
Result<std::unique_ptr<Engine>> make_opencv(const ModelSource& m, const EngineOptions& o) {
  return m.data ? create_opencv_engine_from_memory(m.data, m.size, m.name, o)
                : create_opencv_engine(m.name, o);
}
#endif

// Registered explicitly rather than by static initialisers, which a static link may drop.
// A new backend adds one folder under engine/ and one line here.
const std::vector<std::pair<std::string, Factory>>& backends() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"ort", &make_ort},
      {"openvino", &make_openvino},
#ifdef VASDK_WITH_OPENCV_DNN
      {"opencv", &make_opencv},
#endif
  };
  return table;
}

// "auto": ONNX Runtime and OpenVINO, those whose runtime loads, measured on the model (the
// reference OpenCV backend is never a candidate).
Result<std::unique_ptr<Engine>> create_auto(const ModelSource& model,
                                            const EngineOptions& options) {
  std::vector<AutoCandidate> candidates;
  std::vector<std::string> skipped;
  if (auto ort = load_ort_runtime(options.library_path); ort.is_ok()) {
    candidates.push_back({"ort", ort.value()->version});
  } else {
    skipped.push_back("ort unavailable: " + ort.status().message());
  }
  if (auto ov = load_openvino_runtime(options.openvino_library); ov.is_ok()) {
    candidates.push_back({"openvino", ov.value()->version});
  } else {
    skipped.push_back("openvino unavailable: " + ov.status().message());
  }
  return create_auto_engine(model.name, model.data, model.size, options, candidates, skipped,
                            [&](const std::string& backend) {
                              EngineOptions o = options;
                              o.backend = backend;
                              return backend == "ort" ? make_ort(model, o)
                                                      : make_openvino(model, o);
                            });
}

Result<std::unique_ptr<Engine>> create(const ModelSource& model, const EngineOptions& options) {
  if (options.backend == "auto") return create_auto(model, options);
  for (const auto& [name, factory] : backends()) {
    if (name == options.backend) return factory(model, options);
  }
  std::string known;
  for (const auto& entry : backends()) known += (known.empty() ? "" : ", ") + entry.first;
  known += ", auto";
  return Status(
      StatusCode::kBackendUnavailable,
      "engine backend '" + options.backend + "' is not built in (available: " + known + ")");
}

}  // namespace

Result<std::unique_ptr<Engine>> create_engine(const std::string& model_path,
                                              const EngineOptions& options) {
  return create({model_path, nullptr, 0}, options);
}

Result<std::unique_ptr<Engine>> create_engine_from_memory(const void* data, size_t size,
                                                          const std::string& name,
                                                          const EngineOptions& options) {
  if (data == nullptr || size == 0) {
    return invalid_argument("model '" + name + "': memory buffer is empty");
  }
  return create({name, data, size}, options);
}

Status check_run_inputs(const std::string& model, const std::vector<TensorInfo>& declared,
                        const std::vector<TensorView>& in) {
  if (in.size() != declared.size()) {
    return invalid_argument("model '" + model + "' takes " + std::to_string(declared.size()) +
                            " inputs, got " + std::to_string(in.size()));
  }
  for (size_t i = 0; i < in.size(); ++i) {
    const TensorInfo& want = declared[i];
    if (in[i].data == nullptr) return invalid_argument("input '" + want.name + "' has no data");
    if (in[i].dtype != want.dtype) {
      return invalid_argument("model '" + model + "' input '" + want.name + "' expects " +
                              data_type_name(want.dtype) + ", got " + data_type_name(in[i].dtype));
    }
    bool ok = in[i].shape.size() == want.shape.size();
    for (size_t d = 0; ok && d < want.shape.size(); ++d) {
      ok = in[i].shape[d] > 0 && (want.shape[d] < 0 || want.shape[d] == in[i].shape[d]);
    }
    if (!ok) {
      return invalid_argument("model '" + model + "' input '" + want.name + "' expects shape " +
                              shape_to_string(want.shape) + ", got " +
                              shape_to_string(in[i].shape));
    }
  }
  return Status::ok();
}

std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const auto& entry : backends()) names.push_back(entry.first);
  return names;
}

}  // namespace vas
