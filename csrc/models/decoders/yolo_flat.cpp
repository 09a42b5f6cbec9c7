// YOLOv5 / YOLOv8 exports, card types "yolov5" and "yolov8": one output of candidate boxes with
// (cx, cy, w, h) in input pixels and class scores already passed through a sigmoid.
//   "decoder": {"type": "yolov8", "outputs": [{"name": "output0"}]}
//   v5: [N, boxes, 5 + C]  (objectness at index 4)
//   v8: [N, 4 + C, boxes]  (transposed) or [N, boxes, 4 + C]
#include "models/decoder.h"

namespace vas {
namespace {

class YoloFlatDecoder final : public OutputDecoder {
 public:
  YoloFlatDecoder(std::string output, bool objectness, int num_classes)
      : output_(std::move(output)), objectness_(objectness), num_classes_(num_classes) {}

  Status bind(const std::vector<TensorInfo>& outputs) override {
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].name == output_) {
        index_ = i;
        return Status::ok();
      }
    }
    return invalid_model("model has no output '" + output_ + "' named in its card");
  }

  Status decode(const std::vector<Tensor>& outputs, int item, const DecodeContext& ctx,
                std::vector<Detection>* out) const override {
    const Tensor& t = outputs[index_];
    const auto& s = t.shape();
    const int64_t attrs = (objectness_ ? 5 : 4) + num_classes_;
    if (t.dtype() != DataType::kFloat32 || s.size() != 3 || item >= s[0] ||
        (s[1] != attrs && s[2] != attrs)) {
      return invalid_model("output '" + output_ + "' has shape " + shape_to_string(s) +
                           ", expected [N, boxes, " + std::to_string(attrs) + "] or [N, " +
                           std::to_string(attrs) + ", boxes] float32");
    }
    // Attribute-major ("transposed", the v8 export) when dim 1 holds the attributes; a square
    // ambiguity (boxes == attrs) is read box-major.
    const bool attr_major = s[2] != attrs;
    const int64_t boxes = attr_major ? s[2] : s[1];
    const float* base = t.as<float>() + static_cast<size_t>(item) * boxes * attrs;
    auto at = [&](int64_t box, int64_t a) {
      return attr_major ? base[a * boxes + box] : base[box * attrs + a];
    };
    const int64_t cls0 = objectness_ ? 5 : 4;
    for (int64_t b = 0; b < boxes; ++b) {
      const float obj = objectness_ ? at(b, 4) : 1.0f;
      if (obj < ctx.score_threshold) continue;
      int best = -1;
      float best_score = 0;
      for (int c = 0; c < num_classes_; ++c) {
        if (ctx.class_enabled && !(*ctx.class_enabled)[c]) continue;
        const float sc = at(b, cls0 + c);
        if (best < 0 || sc > best_score) {
          best_score = sc;
          best = c;
        }
      }
      if (best < 0) continue;
      const float score = obj * best_score;
      if (score < ctx.score_threshold) continue;
      const float cx = at(b, 0), cy = at(b, 1), w = at(b, 2), h = at(b, 3);
      Detection d;
      d.x1 = cx - w / 2;
      d.y1 = cy - h / 2;
      d.x2 = cx + w / 2;
      d.y2 = cy + h / 2;
      d.score = score;
      d.class_id = best;
      out->push_back(d);
    }
    return Status::ok();
  }

 private:
  std::string output_;
  bool objectness_;
  int num_classes_;
  size_t index_ = 0;
};

void read_card(ConfigObject& section, ModelCard* card) {
  ConfigArray outs = section.array("outputs", true);
  if (outs.present() && outs.size() != 1) {
    outs.fail("expected exactly one output for " + card->decoder + ", got " +
              std::to_string(outs.size()));
  }
  ConfigObject out = outs.object(0);
  YoloHead head;
  out.req("name", &head.output);
  (void)out.finish();
  card->yolo_heads.push_back(std::move(head));
}

Result<std::unique_ptr<OutputDecoder>> make(const ModelCard& card) {
  if (card.yolo_heads.size() != 1)
    return invalid_config("model card '" + card.name + "': " + card.decoder + " needs one output");
  return std::unique_ptr<OutputDecoder>(new YoloFlatDecoder(
      card.yolo_heads[0].output, card.decoder == "yolov5", static_cast<int>(card.classes.size())));
}

}  // namespace

std::vector<DecoderType> decoder_types_yolo_flat() {
  return {{"yolov5", &read_card, &make}, {"yolov8", &read_card, &make}};
}

}  // namespace vas
