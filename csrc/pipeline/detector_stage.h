// DetectorStage: the pipeline's one detector, behind a narrow interface.
//
// Why a wrapper: models/detector.h (through preprocess/) and analytics/analytics.h (through
// select/) both define a vas::Rect, so no translation unit may include both; the pipeline's
// analytics side includes only this header.
// Thread safety: detect_batch() from one thread at a time (the batcher).
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
  // max_batch > 1 turns ORT's memory pattern off unless the options set it (EngineOptions).
  static Result<std::unique_ptr<DetectorStage>> create(const std::string& model_path,
                                                       const std::string& options_json, int threads,
                                                       bool spinning, int max_batch);
  ~DetectorStage();
  Status detect_batch(const std::vector<ImageView>& images,
                      std::vector<std::vector<Detection>>* out);
  // The model card's class names, indexed by Detection::class_id.
  const std::vector<std::string>& class_names() const;
  // CPU time of the detect_batch() caller per step, in ns since creation (Detector::cpu_ns).
  struct CpuNs {
    uint64_t preprocess = 0, inference = 0, postprocess = 0;
  };
  CpuNs cpu_ns() const;

 private:
  DetectorStage() = default;
  std::unique_ptr<Detector> detector_;
};

// Validates the detector options JSON (the message names the option).
Status check_detector_options(const std::string& options_json);

}  // namespace vas
