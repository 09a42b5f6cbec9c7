// End-to-end detector tests on the real converted yolov3-tiny and vtest.avi.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "io/video_reader.h"
#include "models/detector.h"
#include "test_util.h"

namespace vas {
namespace {

using testing::asset;
using testing::read_frame;

std::unique_ptr<Detector> make(const std::string& options = R"({"threads": 2})") {
  auto opts = parse_detector_options(options);
  EXPECT_TRUE(opts.is_ok()) << opts.status().message();
  auto det = Detector::create(asset("yolov3-tiny.onnx"), opts.value());
  EXPECT_TRUE(det.is_ok()) << det.status().message();
  return det.is_ok() ? std::move(det).value() : nullptr;
}

TEST(Detector, FindsAllSixWalkersInVtestFrame300) {
  auto det = make(R"({"threads": 2, "classes": ["person", "car", "truck"]})");
  ASSERT_TRUE(det);
  Image frame = read_frame(asset("vtest.avi"), 300);
  std::vector<Detection> dets;
  ASSERT_TRUE(det->detect(frame.view(), &dets).is_ok());
  int people = 0;
  for (const auto& d : dets) {
    if (d.class_id == 0 && d.score >= 0.5f) ++people;
    EXPECT_GE(d.x1, 0);
    EXPECT_LE(d.x2, frame.width);
    EXPECT_LT(d.x1, d.x2);
    const std::string& name = det->card().classes[d.class_id];
    EXPECT_TRUE(name == "person" || name == "car" || name == "truck") << name;
  }
  EXPECT_EQ(people, 6);
}

TEST(Detector, Nv12InputGivesTheSameWalkers) {
  auto bgr_det = make();
  ASSERT_TRUE(bgr_det);
  VideoReaderOptions o;
  o.output_format = PixelFormat::kNV12;
  auto reader = VideoReader::open(asset("vtest.avi"), o);
  ASSERT_TRUE(reader.is_ok());
  Frame f;
  for (int i = 0; i <= 300; ++i) ASSERT_TRUE(reader.value()->read(&f).is_ok());
  std::vector<Detection> dets;
  ASSERT_TRUE(bgr_det->detect(f.image, &dets).is_ok());
  int people = 0;
  for (const auto& d : dets) people += d.class_id == 0 && d.score >= 0.5f;
  EXPECT_EQ(people, 6);
}

// One detector per thread, as the API requires; results match a serial run (TSan in CI).
TEST(Detector, ConcurrentDetectorsAgree) {
  Image frame = read_frame(asset("vtest.avi"), 300);
  auto reference = make(R"({"threads": 1})");
  ASSERT_TRUE(reference);
  std::vector<Detection> expected;
  ASSERT_TRUE(reference->detect(frame.view(), &expected).is_ok());
  std::vector<std::vector<Detection>> got(2);
  std::vector<Status> status(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      auto opts = parse_detector_options(R"({"threads": 1})");
      auto det = Detector::create(asset("yolov3-tiny.onnx"), opts.value());
      if (!det.is_ok()) {
        status[t] = det.status();
        return;
      }
      for (int r = 0; r < 2 && status[t].is_ok(); ++r) {
        status[t] = det.value()->detect(frame.view(), &got[t]);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 2; ++t) {
    ASSERT_TRUE(status[t].is_ok()) << status[t].message();
    ASSERT_EQ(got[t].size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(got[t][i].x1, expected[i].x1);
  }
}

// share(): detectors with their own buffers over one engine, detecting at once (the
// pipeline's inference lanes), agree with the original, batches included.
TEST(Detector, ConcurrentSharedDetectorsAgree) {
  Image frame = read_frame(asset("vtest.avi"), 300);
  auto first = make(R"({"threads": 1})");
  ASSERT_TRUE(first);
  std::vector<Detection> expected;
  ASSERT_TRUE(first->detect(frame.view(), &expected).is_ok());
  ASSERT_FALSE(expected.empty());
  std::vector<std::unique_ptr<Detector>> lanes;
  for (int t = 0; t < 2; ++t) {
    auto s = first->share();
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    EXPECT_EQ(&s.value()->engine(), &first->engine()) << "one engine, not a copy";
    lanes.push_back(std::move(s).value());
  }
  std::vector<int> mismatches(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::vector<Detection>> got;
      for (int r = 0; r < 3; ++r) {
        const std::vector<ImageView> images(static_cast<size_t>(1 + (r + t) % 2), frame.view());
        if (!lanes[t]->detect_batch(images, &got).is_ok()) {
          ++mismatches[t];
          continue;
        }
        for (const auto& dets : got) {
          if (dets.size() != expected.size() || dets[0].x1 != expected[0].x1) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0}));
}

TEST(Detector, BatchNamesTheBadImage) {
  auto det = make();
  ASSERT_TRUE(det);
  Image frame = read_frame(asset("vtest.avi"), 0);
  std::vector<std::vector<Detection>> out;
  std::vector<ImageView> images = {frame.view(), frame.view()};
  ASSERT_TRUE(det->detect_batch(images, &out).is_ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].size(), out[1].size());
  images[1].strides[0] = 3;
  Status st = det->detect_batch(images, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("image 1"), std::string::npos) << st.message();
  EXPECT_EQ(det->detect_batch({}, &out).code(), StatusCode::kInvalidArgument);
}

TEST(Detector, RejectsBadOptions) {
  EXPECT_EQ(parse_detector_options("{bad json").status().code(), StatusCode::kInvalidConfig);
  auto unknown = parse_detector_options(R"({"treads": 2})");
  EXPECT_EQ(unknown.status().message(), "detector options: treads: unknown field");
  auto wrong = parse_detector_options(R"({"threads": "two"})");
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(wrong.status().message(),
            "detector options: threads: expected an integer in 0..256, got \"two\"");
  EXPECT_EQ(parse_detector_options(R"({"classes": ["car", 3]})").status().message(),
            "detector options: classes[1]: expected a string, got 3");
  EXPECT_EQ(parse_detector_options("{bad json")
                .status()
                .message()
                .rfind("detector option string is not valid JSON at line 1, column 2", 0),
            0u);
  EXPECT_EQ(parse_detector_options("[1, 2]").status().code(), StatusCode::kInvalidConfig);
  // Out-of-range numbers are errors, not undefined conversions.
  for (const char* bad : {R"({"threads": 1e20})", R"({"threads": 2.5})", R"({"threads": 1000})",
                          R"({"input_width": 100000})", R"({"score_threshold": 1e300})",
                          R"({"max_detections": -3})", R"({"warmup_runs": 4294967296})"}) {
    auto r = parse_detector_options(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig) << bad;
  }
  auto pattern = parse_detector_options(R"({"memory_pattern": false})");
  ASSERT_TRUE(pattern.is_ok());
  EXPECT_FALSE(pattern->engine.memory_pattern);
  EXPECT_TRUE(pattern->memory_pattern_set);
  EXPECT_FALSE(parse_detector_options("{}")->memory_pattern_set);
  EXPECT_EQ(parse_detector_options(R"({"memory_pattern": "no"})").status().code(),
            StatusCode::kInvalidConfig);
  EXPECT_EQ(parse_detector_options("{}")->engine.arena, "shared");
  EXPECT_EQ(parse_detector_options(R"({"arena": "none"})")->engine.arena, "none");
  EXPECT_EQ(parse_detector_options(R"({"arena": 1})").status().code(), StatusCode::kInvalidConfig);
  auto whole = parse_detector_options(R"({"threads": 2.0, "input_width": 416})");
  ASSERT_TRUE(whole.is_ok());
  EXPECT_EQ(whole->engine.threads, 2);
  auto opts = parse_detector_options(R"({"classes": ["unicorn"]})");
  ASSERT_TRUE(opts.is_ok());
  auto det = Detector::create(asset("yolov3-tiny.onnx"), opts.value());
  EXPECT_NE(det.status().message().find("unicorn"), std::string::npos);
}

TEST(Detector, MissingModelIsNotFound) {
  auto det = Detector::create("/nonexistent/model.onnx", DetectorOptions{});
  EXPECT_EQ(det.status().code(), StatusCode::kNotFound);
}

TEST(Detector, TruncatedModelIsInvalidModel) {
  const std::string dir = testing::temp_dir();
  const std::string model = dir + "/vasdk_truncated.onnx", card = dir + "/vasdk_truncated.json";
  const std::string bytes = testing::read_file(asset("yolov3-tiny.onnx"));
  testing::write_file(model, bytes.substr(0, bytes.size() / 3));
  testing::write_file(card, testing::read_file(asset("yolov3-tiny.json")));
  auto det = Detector::create(model, DetectorOptions{});
  EXPECT_EQ(det.status().code(), StatusCode::kInvalidModel) << det.status().message();
  EXPECT_NE(det.status().message().find(model), std::string::npos);
  std::remove(model.c_str());
  std::remove(card.c_str());
}

TEST(Detector, MissingOrtLibraryIsBackendUnavailable) {
  DetectorOptions o;
  o.engine.library_path = "/nonexistent/libonnxruntime.so";
  auto det = Detector::create(asset("yolov3-tiny.onnx"), o);
  EXPECT_EQ(det.status().code(), StatusCode::kBackendUnavailable);
  EXPECT_NE(det.status().message().find("/nonexistent/libonnxruntime.so"), std::string::npos);

  // A file that exists but is not ORT.
  o.engine.library_path = asset("yolov3-tiny.json");
  det = Detector::create(asset("yolov3-tiny.onnx"), o);
  EXPECT_EQ(det.status().code(), StatusCode::kBackendUnavailable);
}

TEST(Detector, RejectsBadImages) {
  auto det = make();
  ASSERT_TRUE(det);
  std::vector<uint8_t> buf(64 * 64 * 3);
  std::vector<Detection> dets;
  ImageView img = ImageView::packed(PixelFormat::kBGR24, 0, 64, buf.data(), 192);
  EXPECT_EQ(det->detect(img, &dets).code(), StatusCode::kInvalidArgument);
  img = ImageView::packed(PixelFormat::kBGR24, 64, 64, buf.data(), 100);
  EXPECT_EQ(det->detect(img, &dets).code(), StatusCode::kInvalidArgument);
  img = ImageView::packed(PixelFormat::kBGR24, 64, 64, nullptr, 192);
  EXPECT_EQ(det->detect(img, &dets).code(), StatusCode::kInvalidArgument);
  img = ImageView::packed(static_cast<PixelFormat>(99), 64, 64, buf.data(), 192);
  EXPECT_EQ(det->detect(img, &dets).code(), StatusCode::kInvalidArgument);
  img = ImageView::packed(PixelFormat::kBGR24, 64, 64, buf.data(), 192);
  EXPECT_EQ(det->detect(img, nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(det->detect(img, &dets).is_ok());  // still usable after errors
}

TEST(Detector, CenterFaceFindsAFaceInMegamind) {
  auto opts = parse_detector_options(R"({"threads": 2})");
  ASSERT_TRUE(opts.is_ok());
  auto det = Detector::create(asset("centerface.onnx"), opts.value());
  ASSERT_TRUE(det.is_ok()) << det.status().message();
  Image frame = read_frame(asset("Megamind.avi"), 30);
  std::vector<Detection> dets;
  ASSERT_TRUE(det.value()->detect(frame.view(), &dets).is_ok());
  ASSERT_GE(dets.size(), 1u);
  EXPECT_EQ(dets[0].num_landmarks, 5);
  // Landmarks of a detected face lie inside (or on) its box, give or take a few pixels.
  for (int j = 0; j < 5; ++j) {
    EXPECT_GT(dets[0].landmarks[2 * j], dets[0].x1 - 4);
    EXPECT_LT(dets[0].landmarks[2 * j], dets[0].x2 + 4);
  }
}

}  // namespace
}  // namespace vas
