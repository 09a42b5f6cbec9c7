// CenterFace, card type "centerface":
//   "decoder": {"type": "centerface", "stride": 4,
//               "outputs": {"heatmap": "537", "scale": "538", "offset": "539", "landmarks": "540"}}
#include <cmath>

#include "models/decoder.h"

namespace vas {
namespace {

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

constexpr const char* kOutputs[] = {"heatmap", "scale", "offset", "landmarks"};

void read_card(ConfigObject& section, ModelCard* card) {
  ConfigObject outs = section.object("outputs", true);
  for (const char* key : kOutputs) {
    std::string name;
    if (outs.req(key, &name)) card->named_outputs[key] = name;
  }
  (void)outs.finish();
  card->decoder_stride = 4;
  section.opt("stride", &card->decoder_stride, at_least(1));
}

Result<std::unique_ptr<OutputDecoder>> make(const ModelCard& card) {
  return std::unique_ptr<OutputDecoder>(
      new CenterFaceDecoder(card.named_outputs, card.decoder_stride));
}

}  // namespace

std::vector<DecoderType> decoder_types_centerface() { return {{"centerface", &read_card, &make}}; }

}  // namespace vas
