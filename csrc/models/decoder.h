// Output decoders turn raw model outputs into detections in network-input pixels.
// One decoder type per model family; the model card's "decoder.type" names which one to use.
//
// Decoder types register by name. Each file in csrc/models/decoders/ defines
//   std::vector<DecoderType> decoder_types_<file name>();
// (csrc/models/CMakeLists.txt generates the registry's table from that folder), so a new
// decoder is one new file there, plus its test.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config_reader.h"
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

// One decoder type: the name cards use, the reader of its card section, and its factory.
struct DecoderType {
  std::string name;
  // Reads the card's "decoder" section (its "type" is already read) into the card's decoder
  // fields (yolo_heads, named_outputs, decoder_stride). Errors are recorded in `section`, whose
  // unknown fields the caller reports after this returns.
  void (*read_card)(ConfigObject& section, ModelCard* card);
  // Builds the decoder for a card that read_card accepted.
  Result<std::unique_ptr<OutputDecoder>> (*make)(const ModelCard& card);
};

// The registered type named `name`, or nullptr.
const DecoderType* find_decoder_type(const std::string& name);
// Registered names, sorted ("centerface, yolo_darknet, ...").
std::vector<std::string> decoder_type_names();

Result<std::unique_ptr<OutputDecoder>> make_decoder(const ModelCard& card);

// Index of the output `name` among `outputs`, or an error listing the model's outputs.
Result<size_t> find_output(const std::vector<TensorInfo>& outputs, const std::string& name);

}  // namespace vas
