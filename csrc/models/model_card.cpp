#include "models/model_card.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/json_value.h"

namespace vas {
namespace {

using json = nlohmann::json;

// Rejects keys outside `allowed`, naming the first unknown one with its path.
Status check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& where) {
  if (!obj.is_object()) return invalid_config(where + " must be an object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!allowed.count(it.key()))
      return invalid_config("unknown field '" + where + "." + it.key() + "'");
  }
  return Status::ok();
}

template <typename T>
Status get(const json& obj, const char* key, const std::string& where, T* out, bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return required ? invalid_config("missing field '" + where + "." + key + "'") : Status::ok();
  }
  if (!read_json(*it, out)) {
    return invalid_config("field '" + where + "." + key +
                          "' has the wrong type or is out of range: " + it->dump());
  }
  return Status::ok();
}

Status parse_input(const json& in, ModelCard* card) {
  VAS_RETURN_IF_ERROR(check_keys(
      in,
      {"name", "width", "height", "layout", "color", "resize", "scale", "mean", "std", "pad_value"},
      "input"));
  auto& p = card->preprocess;
  std::string color = "RGB", resize = "stretch";
  std::vector<float> mean = {0, 0, 0}, stdv = {1, 1, 1};
  int pad = 114;
  VAS_RETURN_IF_ERROR(get(in, "name", "input", &card->input_name, true));
  VAS_RETURN_IF_ERROR(get(in, "width", "input", &p.width, true));
  VAS_RETURN_IF_ERROR(get(in, "height", "input", &p.height, true));
  VAS_RETURN_IF_ERROR(get(in, "layout", "input", &card->layout, false));
  VAS_RETURN_IF_ERROR(get(in, "color", "input", &color, false));
  VAS_RETURN_IF_ERROR(get(in, "resize", "input", &resize, false));
  VAS_RETURN_IF_ERROR(get(in, "scale", "input", &p.scale, false));
  VAS_RETURN_IF_ERROR(get(in, "mean", "input", &mean, false));
  VAS_RETURN_IF_ERROR(get(in, "std", "input", &stdv, false));
  VAS_RETURN_IF_ERROR(get(in, "pad_value", "input", &pad, false));
  if (p.width <= 0 || p.height <= 0)
    return invalid_config("input.width and input.height must be positive");
  if (card->layout != "NCHW")
    return invalid_config("input.layout '" + card->layout + "' is not supported (NCHW)");
  if (color != "RGB" && color != "BGR")
    return invalid_config("input.color must be RGB or BGR, got '" + color + "'");
  p.color = color == "RGB" ? ColorOrder::kRGB : ColorOrder::kBGR;
  if (resize != "stretch" && resize != "letterbox") {
    return invalid_config("input.resize must be stretch or letterbox, got '" + resize + "'");
  }
  p.mode = resize == "stretch" ? ResizeMode::kStretch : ResizeMode::kLetterbox;
  if (mean.size() != 3 || stdv.size() != 3)
    return invalid_config("input.mean and input.std need 3 values");
  for (int c = 0; c < 3; ++c) {
    if (stdv[c] == 0) return invalid_config("input.std must not contain 0");
    p.mean[c] = mean[c];
    p.std[c] = stdv[c];
  }
  if (pad < 0 || pad > 255) return invalid_config("input.pad_value must be in 0..255");
  p.pad_value = static_cast<uint8_t>(pad);
  return Status::ok();
}

Status parse_decoder(const json& dec, ModelCard* card) {
  VAS_RETURN_IF_ERROR(check_keys(dec, {"type", "outputs", "stride"}, "decoder"));
  VAS_RETURN_IF_ERROR(get(dec, "type", "decoder", &card->decoder, true));
  VAS_RETURN_IF_ERROR(get(dec, "stride", "decoder", &card->decoder_stride, false));
  auto outs = dec.find("outputs");
  if (outs == dec.end()) return invalid_config("missing field 'decoder.outputs'");
  if (card->decoder == "yolo_darknet") {
    if (!outs->is_array() || outs->empty())
      return invalid_config("decoder.outputs must be a non-empty array");
    for (size_t i = 0; i < outs->size(); ++i) {
      const std::string where = "decoder.outputs[" + std::to_string(i) + "]";
      const json& h = (*outs)[i];
      VAS_RETURN_IF_ERROR(check_keys(h, {"name", "stride", "anchors"}, where));
      YoloHead head;
      std::vector<std::vector<float>> anchors;
      VAS_RETURN_IF_ERROR(get(h, "name", where, &head.output, true));
      VAS_RETURN_IF_ERROR(get(h, "stride", where, &head.stride, true));
      VAS_RETURN_IF_ERROR(get(h, "anchors", where, &anchors, true));
      if (head.stride <= 0) return invalid_config(where + ".stride must be positive");
      if (anchors.empty()) return invalid_config(where + ".anchors is empty");
      for (const auto& a : anchors) {
        if (a.size() != 2 || a[0] <= 0 || a[1] <= 0)
          return invalid_config(where + ".anchors needs positive (w, h) pairs");
        head.anchors.push_back({a[0], a[1]});
      }
      card->yolo_heads.push_back(std::move(head));
    }
  } else if (card->decoder == "yolov5" || card->decoder == "yolov8") {
    // One output: [N, boxes, 5 + C] (v5: cx, cy, w, h, objectness, class scores) or
    // [N, 4 + C, boxes] / [N, boxes, 4 + C] (v8: no objectness), in input pixels.
    if (!outs->is_array() || outs->size() != 1) {
      return invalid_config("decoder.outputs must hold exactly one output for " + card->decoder);
    }
    VAS_RETURN_IF_ERROR(check_keys((*outs)[0], {"name"}, "decoder.outputs[0]"));
    YoloHead head;
    VAS_RETURN_IF_ERROR(get((*outs)[0], "name", "decoder.outputs[0]", &head.output, true));
    card->yolo_heads.push_back(std::move(head));
  } else if (card->decoder == "centerface") {
    VAS_RETURN_IF_ERROR(
        check_keys(*outs, {"heatmap", "scale", "offset", "landmarks"}, "decoder.outputs"));
    for (const char* key : {"heatmap", "scale", "offset", "landmarks"}) {
      std::string name;
      VAS_RETURN_IF_ERROR(get(*outs, key, "decoder.outputs", &name, true));
      card->named_outputs[key] = name;
    }
    if (card->decoder_stride <= 0) card->decoder_stride = 4;
  } else {
    return invalid_config("decoder.type '" + card->decoder +
                          "' is unknown (yolo_darknet, yolov5, yolov8, centerface)");
  }
  return Status::ok();
}

// Written by `vasdk model quantize`; only the target matters to the runtime, the rest records
// how the model was made.
Status parse_quantization(const json& q, ModelCard* card) {
  VAS_RETURN_IF_ERROR(
      check_keys(q, {"target", "weight_bits", "activations", "method"}, "quantization"));
  VAS_RETURN_IF_ERROR(get(q, "target", "quantization", &card->quant_target, true));
  if (card->quant_target != "portable" && card->quant_target != "vnni" &&
      card->quant_target != "arm64") {
    return invalid_config("quantization.target must be portable, vnni or arm64, got '" +
                          card->quant_target + "'");
  }
  int bits = 8;
  std::string text;
  VAS_RETURN_IF_ERROR(get(q, "weight_bits", "quantization", &bits, false));
  VAS_RETURN_IF_ERROR(get(q, "activations", "quantization", &text, false));
  VAS_RETURN_IF_ERROR(get(q, "method", "quantization", &text, false));
  if (bits != 7 && bits != 8) return invalid_config("quantization.weight_bits must be 7 or 8");
  return Status::ok();
}

}  // namespace

Result<ModelCard> parse_model_card(const std::string& json_text, const std::string& origin) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e309
    return invalid_config("model card '" + origin + "' is not valid JSON: " + e.what());
  }
  ModelCard card;
  Status st = [&]() -> Status {
    VAS_RETURN_IF_ERROR(check_keys(doc,
                                   {"name", "model", "precision", "quantization", "input",
                                    "decoder", "classes", "score_threshold", "nms_iou"},
                                   "card"));
    VAS_RETURN_IF_ERROR(get(doc, "name", "card", &card.name, true));
    VAS_RETURN_IF_ERROR(get(doc, "model", "card", &card.model, false));
    VAS_RETURN_IF_ERROR(get(doc, "precision", "card", &card.precision, false));
    VAS_RETURN_IF_ERROR(get(doc, "classes", "card", &card.classes, true));
    VAS_RETURN_IF_ERROR(get(doc, "score_threshold", "card", &card.score_threshold, false));
    VAS_RETURN_IF_ERROR(get(doc, "nms_iou", "card", &card.nms_iou, false));
    if (card.classes.empty()) return invalid_config("card.classes is empty");
    if (auto q = doc.find("quantization"); q != doc.end()) {
      VAS_RETURN_IF_ERROR(parse_quantization(*q, &card));
    }
    if (!doc.contains("input")) return invalid_config("missing field 'card.input'");
    if (!doc.contains("decoder")) return invalid_config("missing field 'card.decoder'");
    VAS_RETURN_IF_ERROR(parse_input(doc["input"], &card));
    return parse_decoder(doc["decoder"], &card);
  }();
  if (!st.is_ok()) return st.with_context("model card '" + origin + "'");
  return card;
}

Result<ModelCard> load_model_card(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found("model card '" + path + "' does not exist or cannot be read");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_model_card(ss.str(), path);
}

}  // namespace vas
