#include "models/model_card.h"

#include <fstream>
#include <sstream>

#include "core/config_reader.h"
#include "models/decoder.h"

namespace vas {
namespace {

void read_input(ConfigObject& in, ModelCard* card) {
  PreprocessSpec& p = card->preprocess;
  in.req("name", &card->input_name);
  in.req("width", &p.width, at_least(1));
  in.req("height", &p.height, at_least(1));
  in.opt_choice("layout", &card->layout, {{"NCHW", std::string("NCHW")}});
  in.opt_choice("color", &p.color, {{"RGB", ColorOrder::kRGB}, {"BGR", ColorOrder::kBGR}});
  in.opt_choice("resize", &p.mode,
                {{"stretch", ResizeMode::kStretch}, {"letterbox", ResizeMode::kLetterbox}});
  in.opt("scale", &p.scale);
  for (const char* key : {"mean", "std"}) {
    std::vector<float> v;
    if (!in.opt(key, &v)) continue;
    if (v.size() != 3) {
      in.fail(key, "expected 3 values, got " + std::to_string(v.size()));
      continue;
    }
    for (int c = 0; c < 3; ++c) {
      if (key[0] == 's' && v[c] == 0) in.fail(key, "must not contain 0");
      (key[0] == 'm' ? p.mean : p.std)[c] = v[c];
    }
  }
  in.opt("pad_value", &p.pad_value, in_range(0, 255));
}

// Written by `vasdk model quantize`; only the target matters to the runtime (the engine warns
// where it does not fit the CPU), the rest records how the model was made.
void read_quantization(ConfigObject& q, ModelCard* card) {
  q.opt_choice("target", &card->quant_target,
               {{"portable", std::string("portable")},
                {"vnni", std::string("vnni")},
                {"arm64", std::string("arm64")}},
               /*required=*/true);
  int bits = 8;
  std::string text;
  q.opt("weight_bits", &bits, in_range(7, 8));
  q.opt("activations", &text);
  q.opt("method", &text);
}

}  // namespace

Result<ModelCard> parse_model_card(const std::string& json_text, const std::string& origin) {
  const std::string what = "model card '" + origin + "'";
  VAS_ASSIGN_OR_RETURN(nlohmann::json doc, parse_config_json(json_text, what));
  ModelCard card;
  ConfigObject o(doc, "card", "");
  o.req("name", &card.name);
  o.opt("model", &card.model);
  o.opt("precision", &card.precision);
  if (o.req("classes", &card.classes) && card.classes.empty()) {
    o.fail("classes", "expected a non-empty list of class names");
  }
  o.opt("score_threshold", &card.score_threshold);
  o.opt("nms_iou", &card.nms_iou);
  ConfigObject quant = o.object("quantization");
  if (quant.present()) {
    read_quantization(quant, &card);
    (void)quant.finish();
  }
  ConfigObject in = o.object("input", true);
  read_input(in, &card);
  (void)in.finish();
  ConfigObject dec = o.object("decoder", true);
  if (dec.req("type", &card.decoder)) {
    if (const DecoderType* type = find_decoder_type(card.decoder)) {
      type->read_card(dec, &card);
      (void)dec.finish(" for decoder type '" + card.decoder + "'");
    } else {
      std::string known;
      for (const auto& n : decoder_type_names()) known += (known.empty() ? "" : ", ") + n;
      dec.fail("type", "unknown decoder type '" + card.decoder + "' (" + known + ")");
    }
  }
  const Status st = o.finish();
  if (!st.is_ok()) return st.with_context(what);
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
