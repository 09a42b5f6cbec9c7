// Output decoders turn raw model outputs into detections in network-input pixels.
// One decoder type per model family; the model card names which one to use.
#pragma once

#include <memory>
#include <vector>

#include "core/detection.h"
#include "core/status.h"
#include "core/tensor.h"
#include "engine/engine.h"
#include "models/model_card.h"

namespace vas {

struct DecodeContext {
  int input_width = 0;
  int input_height = 0;
  float score_threshold = 0.25f;
  const std::vector<bool>* class_enabled = nullptr;  // null = every class
};

// Stateless after bind(); not thread-safe to bind concurrently.
class OutputDecoder {
 public:
  virtual ~OutputDecoder() = default;
  // Resolves the card's output names against the engine's outputs.
  virtual Status bind(const std::vector<TensorInfo>& outputs) = 0;
  // Appends the detections of batch item `item` to *out (no NMS).
  virtual Status decode(const std::vector<Tensor>& outputs, int item, const DecodeContext& ctx,
                        std::vector<Detection>* out) const = 0;
};

Result<std::unique_ptr<OutputDecoder>> make_decoder(const ModelCard& card);

// Decoders for exported YOLOv5 / YOLOv8 graphs (one flat output), in yolo_flat_decoder.cpp.
std::unique_ptr<OutputDecoder> make_yolo_flat_decoder(const ModelCard& card);

}  // namespace vas
