// Model card: the JSON file beside a model that says how to feed it and read its outputs,
// so swapping a model is a config change. Parsing is strict: an unknown field is an error
// that names it.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "preprocess/preprocess.h"

namespace vas {

struct YoloHead {
  std::string output;  // graph output name
  int stride = 0;
  std::vector<std::array<float, 2>> anchors;  // (w, h) in input pixels
};

struct ModelCard {
  std::string name;
  std::string model;  // model file, relative to the card's folder unless absolute
  std::string precision = "fp32";
  // "quantization": {"target": ...}: the CPUs an int8 card was made for (portable, vnni,
  // arm64); empty for float models. The engine warns when the CPU does not fit.
  std::string quant_target;
  std::string input_name;
  std::string layout = "NCHW";
  PreprocessSpec preprocess;
  std::string decoder;  // yolo_darknet | centerface
  std::vector<YoloHead> yolo_heads;
  std::map<std::string, std::string> named_outputs;  // centerface: heatmap/scale/offset/landmarks
  int decoder_stride = 0;
  std::vector<std::string> classes;
  float score_threshold = 0.25f;
  float nms_iou = 0.45f;
};

Result<ModelCard> parse_model_card(const std::string& json_text, const std::string& origin);
Result<ModelCard> load_model_card(const std::string& path);

}  // namespace vas
