// DetectorStage: the pipeline's one detector, behind a narrow interface.
//
// Why a wrapper: models/detector.h (through preprocess/) and analytics/analytics.h (through
// select/) both define a vas::Rect, so no translation unit may include both; the pipeline's
// analytics side includes only this header.
// Inference lanes: batches the engine runs at once (inference.in_flight, else the engine's
// parallel_runs(): OpenVINO's streams, 1 for ORT). Each lane is a detector with its own
// buffers over the one shared engine, driven by its own batcher thread.
// Thread safety: detect_batch() and cpu_ns() of one lane from one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/detection.h"
#include "core/image.h"
#include "core/status.h"

namespace vas {

class Detector;

class DetectorStage {
 public:
  // options_json: the "models.detector.options" object ("" = defaults); threads and spinning
  // (from "inference") override the ones it names.
  // ORT's memory pattern is off unless the options set it (EngineOptions).
  // in_flight: lanes; 0 = the engine's parallel_runs(). At most kMaxLanes.
  static Result<std::unique_ptr<DetectorStage>> create(const std::string& model_path,
                                                       const std::string& options_json, int threads,
                                                       bool spinning, int in_flight);
  static constexpr int kMaxLanes = 16;
  ~DetectorStage();
  int lanes() const { return static_cast<int>(lanes_.size()); }
  Status detect_batch(int lane, const std::vector<ImageView>& images,
                      std::vector<std::vector<Detection>>* out);
  // The engine's backend_name() and notes() (what "auto" chose, the plugin's settings).
  std::string backend() const;
  std::vector<std::string> notes() const;
  // The model card's class names, indexed by Detection::class_id.
  const std::vector<std::string>& class_names() const;
  // CPU time of the detect_batch() caller per step, in ns since creation (Detector::cpu_ns).
  struct CpuNs {
    uint64_t preprocess = 0, inference = 0, postprocess = 0;
  };
  CpuNs cpu_ns(int lane) const;

 private:
  DetectorStage() = default;
  std::vector<std::unique_ptr<Detector>> lanes_;
};

// Validates the detector options JSON (the message names the option).
Status check_detector_options(const std::string& options_json);

}  // namespace vas
