#include "pipeline/detector_stage.h"

#include "models/detector.h"

namespace vas {

Result<std::unique_ptr<DetectorStage>> DetectorStage::create(const std::string& model_path,
                                                             const std::string& options_json,
                                                             int threads, bool spinning,
                                                             int max_batch) {
  VAS_ASSIGN_OR_RETURN(DetectorOptions o, parse_detector_options(options_json));
  o.engine.threads = threads;
  o.engine.spinning = spinning;
  if (!o.memory_pattern_set && max_batch > 1) o.engine.memory_pattern = false;
  std::unique_ptr<DetectorStage> s(new DetectorStage());
  VAS_ASSIGN_OR_RETURN(s->detector_, Detector::create(model_path, o));
  return s;
}

DetectorStage::~DetectorStage() = default;

Status DetectorStage::detect_batch(const std::vector<ImageView>& images,
                                   std::vector<std::vector<Detection>>* out) {
  return detector_->detect_batch(images, out);
}

DetectorStage::CpuNs DetectorStage::cpu_ns() const {
  const Detector::CpuNs& c = detector_->cpu_ns();
  return {c.preprocess, c.inference, c.postprocess};
}

const std::vector<std::string>& DetectorStage::class_names() const {
  return detector_->card().classes;
}

Status check_detector_options(const std::string& options_json) {
  return parse_detector_options(options_json).status();
}

}  // namespace vas
