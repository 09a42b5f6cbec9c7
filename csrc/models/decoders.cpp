// Output decoders, one class per decoder type named in model cards.
#include <cmath>

#include "models/decoder.h"

namespace vas {
namespace {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float logit(float p) { return std::log(p / (1.0f - p)); }

Result<size_t> find_output(const std::vector<TensorInfo>& outputs, const std::string& name) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].name == name) return i;
  }
  std::string names;
  for (const auto& o : outputs) names += (names.empty() ? "" : ", ") + o.name;
  return invalid_model("model has no output '" + name + "' named in its card (outputs: " + names +
                       ")");
}

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

// CenterFace: heatmap (sigmoid applied), log-scale, offset and 5 landmarks at 1/stride.
class CenterFaceDecoder final : public OutputDecoder {
 public:
  CenterFaceDecoder(std::map<std::string, std::string> names, int stride)
      : names_(std::move(names)), stride_(stride) {}

  Status bind(const std::vector<TensorInfo>& outputs) override {
    for (const char* key : {"heatmap", "scale", "offset", "landmarks"}) {
      VAS_ASSIGN_OR_RETURN(size_t i, find_output(outputs, names_.at(key)));
      index_[key] = i;
    }
    return Status::ok();
  }

  Status decode(const std::vector<Tensor>& outputs, int item, const DecodeContext& ctx,
                std::vector<Detection>* out) const override {
    const Tensor& heat = outputs[index_.at("heatmap")];
    const Tensor& scale = outputs[index_.at("scale")];
    const Tensor& offset = outputs[index_.at("offset")];
    const Tensor& lms = outputs[index_.at("landmarks")];
    const auto& s = heat.shape();
    if (s.size() != 4 || s[1] != 1 || item >= s[0]) {
      return invalid_model("centerface heatmap has shape " + shape_to_string(s));
    }
    const int H = static_cast<int>(s[2]), W = static_cast<int>(s[3]);
    const size_t plane = static_cast<size_t>(H) * W;
    auto expect = [&](const Tensor& t, int ch, const char* what) -> Status {
      const auto& ts = t.shape();
      if (ts.size() != 4 || ts[1] != ch || ts[2] != H || ts[3] != W || item >= ts[0]) {
        return invalid_model(std::string("centerface ") + what + " has shape " +
                             shape_to_string(ts));
      }
      return Status::ok();
    };
    VAS_RETURN_IF_ERROR(expect(scale, 2, "scale"));
    VAS_RETURN_IF_ERROR(expect(offset, 2, "offset"));
    VAS_RETURN_IF_ERROR(expect(lms, 10, "landmarks"));
    const float* hp = heat.as<float>() + item * plane;
    const float* sp = scale.as<float>() + item * 2 * plane;
    const float* op = offset.as<float>() + item * 2 * plane;
    const float* lp = lms.as<float>() + item * 10 * plane;
    const float st = static_cast<float>(stride_);
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        const size_t c = static_cast<size_t>(y) * W + x;
        if (hp[c] < ctx.score_threshold) continue;
        const float h = std::exp(sp[c]) * st, w = std::exp(sp[plane + c]) * st;
        const float cy = (y + op[c] + 0.5f) * st, cx = (x + op[plane + c] + 0.5f) * st;
        Detection d;
        // Unclipped: landmarks are relative to this corner; the detector clips later.
        d.x1 = cx - w / 2;
        d.y1 = cy - h / 2;
        d.x2 = d.x1 + w;
        d.y2 = d.y1 + h;
        d.score = hp[c];
        d.class_id = 0;
        d.num_landmarks = 5;
        for (int j = 0; j < 5; ++j) {
          d.landmarks[2 * j] = lp[(2 * j + 1) * plane + c] * w + d.x1;
          d.landmarks[2 * j + 1] = lp[(2 * j) * plane + c] * h + d.y1;
        }
        out->push_back(d);
      }
    }
    return Status::ok();
  }

 private:
  std::map<std::string, std::string> names_;
  int stride_;
  std::map<std::string, size_t> index_;
};

}  // namespace

Result<std::unique_ptr<OutputDecoder>> make_decoder(const ModelCard& card) {
  if (card.decoder == "yolo_darknet") {
    return std::unique_ptr<OutputDecoder>(
        new YoloDarknetDecoder(card.yolo_heads, static_cast<int>(card.classes.size())));
  }
  if (card.decoder == "yolov5" || card.decoder == "yolov8") return make_yolo_flat_decoder(card);
  if (card.decoder == "centerface") {
    return std::unique_ptr<OutputDecoder>(
        new CenterFaceDecoder(card.named_outputs, card.decoder_stride));
  }
  return invalid_config("model card '" + card.name + "': unknown decoder '" + card.decoder + "'");
}

}  // namespace vas
