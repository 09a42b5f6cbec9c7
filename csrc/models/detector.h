// Detector: preprocess -> engine -> decode -> NMS for one model, on one image at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/detection.h"
#include "core/image.h"
#include "core/status.h"
#include "engine/engine.h"
#include "models/decoder.h"
#include "models/model_card.h"
#include "models/model_pack.h"
#include "models/nms.h"
#include "preprocess/preprocess.h"

namespace vas {

struct DetectorOptions {
  EngineOptions engine;
  std::string card_path;  // default: the model path with a .json extension (a pack holds its own)
  PackKeySource key;      // for an encrypted model pack (models/model_pack.h)
  int input_width = 0;    // 0 = the card's size
  int input_height = 0;
  float score_threshold = -1;  // < 0 = the card's
  float nms_iou = -1;
  std::vector<std::string> classes;  // keep only these class names; empty = all
  bool class_agnostic_nms = false;
  int max_detections = 300;
  bool memory_pattern_set = false;  // the options named "memory_pattern" (engine.memory_pattern)
};

// Parses the detector's JSON options. Unknown fields are errors that name them.
Result<DetectorOptions> parse_detector_options(const std::string& json_text);

// Thread safety: one thread at a time per Detector (it reuses its buffers); run several
// Detectors for parallel work (share() makes one over the same engine). Owns its decoder and
// buffers; the engine is shared with the detectors share() made.
class Detector {
 public:
  static Result<std::unique_ptr<Detector>> create(const std::string& model_path,
                                                  const DetectorOptions& options);
  // Another detector with the same model, options and engine (Engine::run is thread-safe) and
  // its own buffers, so that two threads can detect at once without a second engine.
  Result<std::unique_ptr<Detector>> share() const;
  // Detections in source-image pixels, clipped to the image, sorted by score.
  Status detect(const ImageView& image, std::vector<Detection>* out);
  // Several images in one engine run (chunked and padded to a fixed batch size if the model
  // has one); (*out)[i] holds the detections of images[i].
  Status detect_batch(const std::vector<ImageView>& images,
                      std::vector<std::vector<Detection>>* out);

  // CPU time the calling thread spent in each step of detect()/detect_batch(), in ns since
  // creation. The engine's own worker threads are not in `inference` (only the caller's share).
  struct CpuNs {
    uint64_t preprocess = 0, inference = 0, postprocess = 0;
  };
  const CpuNs& cpu_ns() const { return cpu_; }

  const ModelCard& card() const { return card_; }
  const Engine& engine() const { return *engine_; }
  int input_width() const { return spec_.width; }
  int input_height() const { return spec_.height; }

 private:
  Detector() = default;
  Status run_chunk(const ImageView* images, size_t n, std::vector<Detection>* outs);

  ModelCard card_;
  DetectorOptions options_;
  PreprocessSpec spec_;
  std::shared_ptr<Engine> engine_;
  std::unique_ptr<OutputDecoder> decoder_;
  CpuNs cpu_;
  std::vector<bool> class_enabled_;
  Preprocessor preprocessor_;
  int64_t batch_dim_ = 1;  // model's batch dim; -1 = dynamic
  std::vector<BoxTransform> transforms_;
  Tensor input_;
  std::vector<TensorView> input_views_;
  std::vector<Tensor> outputs_;
};

}  // namespace vas
