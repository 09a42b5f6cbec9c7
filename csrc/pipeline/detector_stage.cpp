#include "pipeline/detector_stage.h"

#include <algorithm>

#include "models/detector.h"

namespace vas {

Result<std::unique_ptr<DetectorStage>> DetectorStage::create(const std::string& model_path,
                                                             const std::string& options_json,
                                                             int threads, bool spinning,
                                                             int in_flight) {
  VAS_ASSIGN_OR_RETURN(DetectorOptions o, parse_detector_options(options_json));
  o.engine.threads = threads;
  o.engine.spinning = spinning;
  // ORT's memory pattern adds one block per input shape beside the arena's own chunks: 40 MiB
  // more for yolov3-tiny at 768x576 with batches of one, and a plan per batch size when
  // batching, for no speed (69.2 vs 68.7 ms per run at 2 threads on an AVX-512 EPYC).
  if (!o.memory_pattern_set) o.engine.memory_pattern = false;
  std::unique_ptr<DetectorStage> s(new DetectorStage());
  VAS_ASSIGN_OR_RETURN(std::unique_ptr<Detector> first, Detector::create(model_path, o));
  const int lanes =
      std::clamp(in_flight > 0 ? in_flight : first->engine().parallel_runs(), 1, kMaxLanes);
  s->lanes_.push_back(std::move(first));
  while (static_cast<int>(s->lanes_.size()) < lanes) {
    VAS_ASSIGN_OR_RETURN(std::unique_ptr<Detector> more, s->lanes_.front()->share());
    s->lanes_.push_back(std::move(more));
  }
  return s;
}

DetectorStage::~DetectorStage() = default;

Status DetectorStage::detect_batch(int lane, const std::vector<ImageView>& images,
                                   std::vector<std::vector<Detection>>* out) {
  return lanes_[static_cast<size_t>(lane)]->detect_batch(images, out);
}

DetectorStage::CpuNs DetectorStage::cpu_ns(int lane) const {
  const Detector::CpuNs& c = lanes_[static_cast<size_t>(lane)]->cpu_ns();
  return {c.preprocess, c.inference, c.postprocess};
}

std::string DetectorStage::backend() const { return lanes_.front()->engine().backend_name(); }

std::vector<std::string> DetectorStage::notes() const { return lanes_.front()->engine().notes(); }

const std::vector<std::string>& DetectorStage::class_names() const {
  return lanes_.front()->card().classes;
}

Status check_detector_options(const std::string& options_json) {
  return parse_detector_options(options_json).status();
}

}  // namespace vas
