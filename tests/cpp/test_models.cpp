#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/detection.h"
#include "models/decoder.h"
#include "models/model_card.h"
#include "models/nms.h"

namespace vas {
namespace {

const char* kCard = R"({
  "name": "tiny", "model": "tiny.onnx", "precision": "fp32",
  "input": {"name": "images", "width": 64, "height": 32, "layout": "NCHW", "color": "RGB",
            "resize": "stretch", "scale": 0.00392156862745098, "mean": [0, 0, 0], "std": [1, 1, 1],
            "pad_value": 0},
  "decoder": {"type": "yolo_darknet",
              "outputs": [{"name": "yolo_0", "stride": 32, "anchors": [[10, 20]]}]},
  "classes": ["person", "car"], "score_threshold": 0.25, "nms_iou": 0.45
})";

Status parse_modified(const std::function<void(nlohmann::json&)>& edit) {
  auto j = nlohmann::json::parse(kCard);
  edit(j);
  return parse_model_card(j.dump(), "test").status();
}

TEST(ModelCard, ParsesAllFields) {
  auto card = parse_model_card(kCard, "test");
  ASSERT_TRUE(card.is_ok()) << card.status().message();
  EXPECT_EQ(card->preprocess.width, 64);
  EXPECT_EQ(card->preprocess.mode, ResizeMode::kStretch);
  ASSERT_EQ(card->yolo_heads.size(), 1u);
  EXPECT_EQ(card->yolo_heads[0].anchors[0][1], 20);
  EXPECT_EQ(card->classes[1], "car");
}

TEST(ModelCard, ErrorsNameTheField) {
  auto msg = [](const Status& s) { return s.message(); };
  EXPECT_NE(msg(parse_modified([](auto& j) { j["colour"] = 1; })).find("card.colour"),
            std::string::npos);
  EXPECT_NE(msg(parse_modified([](auto& j) { j["input"]["widht"] = 1; })).find("input.widht"),
            std::string::npos);
  EXPECT_NE(msg(parse_modified([](auto& j) { j["input"]["width"] = "x"; })).find("input.width"),
            std::string::npos);
  EXPECT_NE(msg(parse_modified([](auto& j) { j["decoder"]["type"] = "ssd"; })).find("ssd"),
            std::string::npos);
  EXPECT_NE(msg(parse_modified([](auto& j) { j.erase("classes"); })).find("card.classes"),
            std::string::npos);
  EXPECT_NE(msg(parse_modified([](auto& j) {
              j["decoder"]["outputs"][0]["anchors"] = {{1}};
            })).find("anchors"),
            std::string::npos);
  EXPECT_NE(msg(parse_modified([](auto& j) {
              j["input"]["std"] = {1, 0, 1};
            })).find("std"),
            std::string::npos);
  EXPECT_EQ(parse_model_card("{not json", "x").status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(msg(parse_modified([](auto& j) {
              j["input"]["width"] = 1e20;
            })).find("card.input.width: expected an integer >= 1, got 1e+20"),
            std::string::npos);
  EXPECT_NE(msg(parse_modified([](auto& j) { j["nms_iou"] = 1e300; })).find("nms_iou"),
            std::string::npos);
  EXPECT_EQ(load_model_card("/nonexistent/card.json").status().code(), StatusCode::kNotFound);
}

TEST(ModelCard, UnknownFieldsAndWrongTypesNameTheFullPath) {
  const auto msg = [](const std::function<void(nlohmann::json&)>& edit) {
    const Status st = parse_modified(edit);
    EXPECT_EQ(st.code(), StatusCode::kInvalidConfig);
    return st.message();
  };
  // Each decoder type owns its section: a field of another type is unknown here.
  EXPECT_EQ(msg([](auto& j) { j["decoder"]["strid"] = 8; }),
            "model card 'test': card.decoder.strid: unknown field for decoder type "
            "'yolo_darknet'");
  EXPECT_EQ(msg([](auto& j) { j["decoder"]["outputs"][0]["anchor"] = 1; }),
            "model card 'test': card.decoder.outputs[0].anchor: unknown field");
  EXPECT_EQ(msg([](auto& j) {
              j["input"]["mean"] = {0, "x", 0};
            }),
            "model card 'test': card.input.mean[1]: expected a number, got \"x\"");
  EXPECT_EQ(msg([](auto& j) { j["decoder"]["outputs"][0]["stride"] = 0; }),
            "model card 'test': card.decoder.outputs[0].stride: expected an integer >= 1, got 0");
  EXPECT_EQ(msg([](auto& j) { j["input"]["color"] = "YUV"; }),
            "model card 'test': card.input.color: expected one of 'RGB', 'BGR', got 'YUV'");
  EXPECT_EQ(msg([](auto& j) { j["decoder"]["type"] = "ssd"; }),
            "model card 'test': card.decoder.type: unknown decoder type 'ssd' (centerface, "
            "yolo_darknet, yolov5, yolov8)");
  EXPECT_EQ(parse_model_card("[]", "x").status().message(),
            "model card 'x': expected a JSON object, got []");
  EXPECT_EQ(parse_model_card("{\n\"name\": }", "x")
                .status()
                .message()
                .rfind("model card 'x' is not valid JSON at line 2, column 9", 0),
            0u);
}

TEST(DecoderRegistry, EveryTypeHasACardReaderAndAFactory) {
  EXPECT_EQ(decoder_type_names(),
            (std::vector<std::string>{"centerface", "yolo_darknet", "yolov5", "yolov8"}));
  for (const std::string& name : decoder_type_names()) {
    const DecoderType* t = find_decoder_type(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->name, name);
    EXPECT_NE(t->read_card, nullptr);
    EXPECT_NE(t->make, nullptr);
  }
  EXPECT_EQ(find_decoder_type("ssd"), nullptr);
  // A CenterFace section: named outputs, stride defaults to 4.
  auto cf = parse_model_card(R"({"name": "cf", "input": {"name": "i", "width": 8, "height": 8},
    "decoder": {"type": "centerface", "outputs": {"heatmap": "h", "scale": "s", "offset": "o",
                "landmarks": "l"}}, "classes": ["face"]})",
                             "cf");
  ASSERT_TRUE(cf.is_ok()) << cf.status().message();
  EXPECT_EQ(cf->decoder_stride, 4);
  EXPECT_EQ(cf->named_outputs.at("landmarks"), "l");
  EXPECT_TRUE(make_decoder(cf.value()).is_ok());
  auto cf_missing = parse_model_card(R"({"name": "cf", "input": {"name": "i", "width": 8,
    "height": 8}, "decoder": {"type": "centerface", "outputs": {"heatmap": "h"}},
    "classes": ["face"]})",
                                     "cf");
  EXPECT_EQ(cf_missing.status().message(), "model card 'cf': card.decoder.outputs.scale: missing");
  ModelCard unknown;
  unknown.decoder = "ssd";
  EXPECT_EQ(make_decoder(unknown).status().code(), StatusCode::kInvalidConfig);
}

TEST(Nms, ClassAwareAndAgnostic) {
  auto box = [](float x, float score, int cls) {
    Detection d;
    d.x1 = x;
    d.y1 = 0;
    d.x2 = x + 10;
    d.y2 = 10;
    d.score = score;
    d.class_id = cls;
    return d;
  };
  std::vector<Detection> dets = {box(0, 0.5f, 0), box(1, 0.9f, 0), box(1, 0.8f, 1),
                                 box(50, 0.3f, 0)};
  auto aware = dets;
  nms(&aware, 0.45f, true, 100);
  ASSERT_EQ(aware.size(), 3u);
  EXPECT_FLOAT_EQ(aware[0].score, 0.9f);
  EXPECT_EQ(aware[1].class_id, 1);
  auto agnostic = dets;
  nms(&agnostic, 0.45f, false, 100);
  EXPECT_EQ(agnostic.size(), 2u);
  nms(&dets, 0.45f, true, 1);
  EXPECT_EQ(dets.size(), 1u);
}

// A single-cell head with known logits decodes to a known box.
TEST(YoloDecoder, DecodesAKnownCell) {
  auto card = parse_model_card(kCard, "test");
  ASSERT_TRUE(card.is_ok());
  auto dec = make_decoder(card.value());
  ASSERT_TRUE(dec.is_ok());
  std::vector<TensorInfo> infos = {{"yolo_0", DataType::kFloat32, {1, 7, 1, 2}}};
  ASSERT_TRUE(dec.value()->bind(infos).is_ok());
  std::vector<Tensor> outs(1);
  outs[0].reshape(DataType::kFloat32, {1, 7, 1, 2});  // 1 anchor * (5 + 2 classes), H=1, W=2
  float* p = outs[0].as<float>();
  std::fill(p, p + 14, -10.0f);
  // Cell x=1: tx=ty=0 (centre 0.5), tw=th=0 (anchor size), obj and class 1 logits high.
  const int cell = 1, plane = 2;
  p[0 * plane + cell] = 0;
  p[1 * plane + cell] = 0;
  p[2 * plane + cell] = 0;
  p[3 * plane + cell] = std::log(2.0f);
  p[4 * plane + cell] = 10;
  p[6 * plane + cell] = 10;
  DecodeContext ctx;
  ctx.input_width = 64;
  ctx.input_height = 32;
  std::vector<Detection> dets;
  ASSERT_TRUE(dec.value()->decode(outs, 0, ctx, &dets).is_ok());
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_EQ(dets[0].class_id, 1);
  EXPECT_NEAR(dets[0].x1, 1.5f * 32 - 5, 1e-4);
  EXPECT_NEAR(dets[0].y2, 0.5f * 32 + 20, 1e-4);
  EXPECT_NEAR(dets[0].score, 1.0f, 1e-3);

  infos[0].name = "other";
  EXPECT_EQ(dec.value()->bind(infos).code(), StatusCode::kInvalidModel);
  infos[0].name = "yolo_0";
  ASSERT_TRUE(dec.value()->bind(infos).is_ok());
  outs[0].reshape(DataType::kFloat32, {1, 6, 1, 2});  // wrong channel count
  EXPECT_EQ(dec.value()->decode(outs, 0, ctx, &dets).code(), StatusCode::kInvalidModel);
}

}  // namespace
}  // namespace vas

namespace vas {
namespace {

ModelCard flat_card(const std::string& type) {
  const std::string json =
      R"({"name": "flat", "input": {"name": "images", "width": 64, "height": 64},
    "decoder": {"type": ")" +
      type + R"(", "outputs": [{"name": "output0"}]},
    "classes": ["person", "car", "dog"], "score_threshold": 0.3})";
  auto card = parse_model_card(json, "flat");
  EXPECT_TRUE(card.is_ok()) << card.status().message();
  return card.value();
}

// Two candidate boxes: box 0 is a confident "car", box 1 falls under the threshold.
void fill(Tensor* t, bool objectness, bool attr_major) {
  const int attrs = (objectness ? 5 : 4) + 3, boxes = 2;
  t->reshape(DataType::kFloat32, attr_major ? std::vector<int64_t>{1, attrs, boxes}
                                            : std::vector<int64_t>{1, boxes, attrs});
  const float rows[2][8] = {{32, 20, 10, 8, 0.9f, 0.1f, 0.8f, 0.05f},
                            {10, 10, 4, 4, 0.2f, 0.9f, 0.1f, 0.1f}};
  for (int b = 0; b < boxes; ++b) {
    for (int a = 0, src = 0; a < attrs; ++a, ++src) {
      if (!objectness && a == 4) ++src;  // v8 rows have no objectness column
      t->as<float>()[attr_major ? a * boxes + b : b * attrs + a] = rows[b][src];
    }
  }
}

TEST(YoloFlatDecoder, DecodesV5AndBothV8Layouts) {
  for (const auto& [type, attr_major] : std::vector<std::pair<std::string, bool>>{
           {"yolov5", false}, {"yolov8", true}, {"yolov8", false}}) {
    ModelCard card = flat_card(type);
    auto dec = make_decoder(card);
    ASSERT_TRUE(dec.is_ok());
    ASSERT_TRUE(dec.value()->bind({{"output0", DataType::kFloat32, {-1, -1, -1}}}).is_ok());
    std::vector<Tensor> outs(1);
    fill(&outs[0], type == "yolov5", attr_major);
    DecodeContext ctx;
    ctx.input_width = ctx.input_height = 64;
    ctx.score_threshold = card.score_threshold;
    std::vector<Detection> dets;
    ASSERT_TRUE(dec.value()->decode(outs, 0, ctx, &dets).is_ok()) << type;
    ASSERT_EQ(dets.size(), type == "yolov5" ? 1u : 2u) << type;  // v5 drops box 1 by objectness
    EXPECT_EQ(dets[0].class_id, 1);
    EXPECT_NEAR(dets[0].score, type == "yolov5" ? 0.72f : 0.8f, 1e-5);
    EXPECT_FLOAT_EQ(dets[0].x1, 27);
    EXPECT_FLOAT_EQ(dets[0].y2, 24);
    outs[0].reshape(DataType::kFloat32, {1, 2, 6});
    EXPECT_EQ(dec.value()->decode(outs, 0, ctx, &dets).code(), StatusCode::kInvalidModel);
  }
  auto two = parse_model_card(R"({"name": "x", "input": {"name": "i", "width": 8, "height": 8},
    "decoder": {"type": "yolov8", "outputs": [{"name": "a"}, {"name": "b"}]}, "classes": ["c"]})",
                              "two");
  EXPECT_NE(two.status().message().find("exactly one output"), std::string::npos);
}

}  // namespace
}  // namespace vas
