// The OpenCV DNN backend against the ONNX Runtime backend on the same models and frames.
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "io/video_reader.h"
#include "models/detector.h"
#include "test_util.h"

namespace vas {
namespace {

using testing::asset;

#ifdef VASDK_WITH_OPENCV_DNN

std::vector<Detection> detect_frame(const std::string& backend, const std::string& model,
                                    const std::string& video, int index) {
  auto opts = parse_detector_options(R"({"threads": 2, "backend": ")" + backend + R"("})");
  EXPECT_TRUE(opts.is_ok());
  auto det = Detector::create(asset(model), opts.value());
  EXPECT_TRUE(det.is_ok()) << det.status().message();
  if (!det.is_ok()) return {};
  EXPECT_EQ(det.value()->engine().backend_name().rfind(backend, 0), 0u);
  auto reader = VideoReader::open(asset(video));
  EXPECT_TRUE(reader.is_ok());
  Frame f;
  for (int i = 0; i <= index; ++i) EXPECT_TRUE(reader.value()->read(&f).is_ok());
  std::vector<Detection> out;
  EXPECT_TRUE(det.value()->detect(f.image, &out).is_ok());
  return out;
}

void expect_same(const std::vector<Detection>& a, const std::vector<Detection>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].class_id, b[i].class_id) << i;
    EXPECT_NEAR(a[i].score, b[i].score, 1e-3) << i;
    EXPECT_GT(iou(a[i], b[i]), 0.999f) << i;
    for (int k = 0; k < 2 * a[i].num_landmarks; ++k) {
      EXPECT_NEAR(a[i].landmarks[k], b[i].landmarks[k], 0.05) << i;
    }
  }
}

TEST(OpenCvEngine, SameDetectionsAsOrtOnYolo) {
  auto ort = detect_frame("ort", "yolov3-tiny.onnx", "vtest.avi", 300);
  auto cv = detect_frame("opencv", "yolov3-tiny.onnx", "vtest.avi", 300);
  EXPECT_GE(ort.size(), 6u);
  expect_same(ort, cv);
}

TEST(OpenCvEngine, SameDetectionsAsOrtOnCenterFace) {
  auto ort = detect_frame("ort", "centerface.onnx", "Megamind.avi", 30);
  auto cv = detect_frame("opencv", "centerface.onnx", "Megamind.avi", 30);
  EXPECT_GE(ort.size(), 1u);
  expect_same(ort, cv);
}

TEST(OpenCvEngine, ReportsIoAndRejectsBadInput) {
  EngineOptions o;
  o.backend = "opencv";
  auto e = create_engine(asset("yolov3-tiny.onnx"), o);
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  ASSERT_EQ(e.value()->inputs().size(), 1u);
  EXPECT_EQ(e.value()->inputs()[0].name, "images");
  EXPECT_EQ(e.value()->outputs().size(), 2u);
  EXPECT_EQ(e.value()->precision(), "fp32");
  Tensor t;
  t.reshape(DataType::kFloat32, {1, 4, 32, 32});
  std::vector<Tensor> out;
  EXPECT_EQ(e.value()->run({t.view()}, &out).code(), StatusCode::kInvalidArgument);

  o.providers = {"cuda"};
  EXPECT_EQ(create_engine(asset("yolov3-tiny.onnx"), o).status().code(),
            StatusCode::kBackendUnavailable);
  o.providers = {"cpu"};
  EXPECT_EQ(create_engine("/nonexistent.onnx", o).status().code(), StatusCode::kNotFound);
  const std::string bytes = testing::read_file(asset("yolov3-tiny.onnx"));
  EXPECT_EQ(create_engine_from_memory(bytes.data(), 1000, "cut", o).status().code(),
            StatusCode::kInvalidModel);
}

#else

TEST(OpenCvEngine, NotBuiltIsBackendUnavailable) {
  EngineOptions o;
  o.backend = "opencv";
  auto e = create_engine(asset("yolov3-tiny.onnx"), o);
  EXPECT_EQ(e.status().code(), StatusCode::kBackendUnavailable);
  EXPECT_NE(e.status().message().find("not built in"), std::string::npos);
}

#endif

}  // namespace
}  // namespace vas
