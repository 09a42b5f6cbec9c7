// Darknet YOLO heads (yolov3/v4-tiny and the like), card type "yolo_darknet":
//   "decoder": {"type": "yolo_darknet",
//               "outputs": [{"name": "yolo_0", "stride": 32, "anchors": [[81, 82], ...]}, ...]}
#include <cmath>

#include "models/decoder.h"

namespace vas {
namespace {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float logit(float p) { return std::log(p / (1.0f - p)); }

// Darknet-style YOLO heads (yolov3/v4-tiny): [N, A*(5+C), H, W] raw logits per stride.
class YoloDarknetDecoder final : public OutputDecoder {
 public:
  YoloDarknetDecoder(std::vector<YoloHead> heads, int num_classes)
      : heads_(std::move(heads)), num_classes_(num_classes) {}

  Status bind(const std::vector<TensorInfo>& outputs) override {
    index_.clear();
    for (const auto& h : heads_) {
      VAS_ASSIGN_OR_RETURN(size_t i, find_output(outputs, h.output));
      index_.push_back(i);
    }
    return Status::ok();
  }

  Status decode(const std::vector<Tensor>& outputs, int item, const DecodeContext& ctx,
                std::vector<Detection>* out) const override {
    const int C = num_classes_;
    // Objectness is a factor of every class score, so low-objectness cells are skipped
    // before the 80 class sigmoids.
    const float obj_logit_min = logit(std::min(std::max(ctx.score_threshold, 1e-6f), 1 - 1e-6f));
    for (size_t h = 0; h < heads_.size(); ++h) {
      const Tensor& t = outputs[index_[h]];
      const auto& s = t.shape();
      const int A = static_cast<int>(heads_[h].anchors.size());
      if (t.dtype() != DataType::kFloat32 || s.size() != 4 || s[1] != A * (5 + C) || item >= s[0]) {
        return invalid_model("output '" + heads_[h].output + "' has shape " + shape_to_string(s) +
                             ", expected [N, " + std::to_string(A * (5 + C)) + ", H, W] float32");
      }
      const int H = static_cast<int>(s[2]), W = static_cast<int>(s[3]);
      const float stride_x = static_cast<float>(ctx.input_width) / W;
      const float stride_y = static_cast<float>(ctx.input_height) / H;
      const size_t plane = static_cast<size_t>(H) * W;
      const float* base = t.as<float>() + static_cast<size_t>(item) * s[1] * plane;
      for (int a = 0; a < A; ++a) {
        const float* p = base + static_cast<size_t>(a) * (5 + C) * plane;
        for (int y = 0; y < H; ++y) {
          for (int x = 0; x < W; ++x) {
            const size_t cell = static_cast<size_t>(y) * W + x;
            const float obj_l = p[4 * plane + cell];
            if (obj_l < obj_logit_min) continue;
            int best = -1;
            float best_l = -INFINITY;
            for (int c = 0; c < C; ++c) {
              if (ctx.class_enabled && !(*ctx.class_enabled)[c]) continue;
              const float l = p[(5 + c) * plane + cell];
              if (l > best_l) {
                best_l = l;
                best = c;
              }
            }
            if (best < 0) continue;
            const float score = sigmoid(obj_l) * sigmoid(best_l);
            if (score < ctx.score_threshold) continue;
            const float cx = (sigmoid(p[cell]) + x) * stride_x;
            const float cy = (sigmoid(p[plane + cell]) + y) * stride_y;
            const float w = std::exp(p[2 * plane + cell]) * heads_[h].anchors[a][0];
            const float bh = std::exp(p[3 * plane + cell]) * heads_[h].anchors[a][1];
            Detection d;
            d.x1 = cx - w / 2;
            d.y1 = cy - bh / 2;
            d.x2 = cx + w / 2;
            d.y2 = cy + bh / 2;
            d.score = score;
            d.class_id = best;
            out->push_back(d);
          }
        }
      }
    }
    return Status::ok();
  }

 private:
  std::vector<YoloHead> heads_;
  int num_classes_;
  std::vector<size_t> index_;
};

void read_card(ConfigObject& section, ModelCard* card) {
  ConfigArray outs = section.array("outputs", true);
  if (outs.present() && outs.size() == 0) outs.fail("expected a non-empty list of heads");
  for (size_t i = 0; i < outs.size() && outs.ok(); ++i) {
    ConfigObject h = outs.object(i);
    YoloHead head;
    std::vector<std::vector<float>> anchors;
    h.req("name", &head.output);
    h.req("stride", &head.stride, at_least(1));
    if (h.req("anchors", &anchors, above(0))) {
      if (anchors.empty()) h.fail("anchors", "expected a non-empty list of [w, h] pairs");
      for (size_t a = 0; a < anchors.size() && h.ok(); ++a) {
        if (anchors[a].size() != 2) {
          h.fail("anchors", "expected positive [w, h] pairs, got " +
                                std::to_string(anchors[a].size()) + " values in item " +
                                std::to_string(a));
        } else {
          head.anchors.push_back({anchors[a][0], anchors[a][1]});
        }
      }
    }
    (void)h.finish();
    card->yolo_heads.push_back(std::move(head));
  }
}

Result<std::unique_ptr<OutputDecoder>> make(const ModelCard& card) {
  return std::unique_ptr<OutputDecoder>(
      new YoloDarknetDecoder(card.yolo_heads, static_cast<int>(card.classes.size())));
}

}  // namespace

std::vector<DecoderType> decoder_types_yolo_darknet() {
  return {{"yolo_darknet", &read_card, &make}};
}

}  // namespace vas
