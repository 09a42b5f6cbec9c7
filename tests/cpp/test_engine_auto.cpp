// "backend": "auto" on the real yolov3-tiny: it measures the backends present once, caches the
// choice privately per model, CPU, versions and options, and says what it chose and why. With
// only ONNX Runtime present (no openvino package, or a sanitizer build, where OpenVINO cannot
// load) it must still work, on ONNX Runtime, and say so.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/auto_backend.h"
#include "engine/engine.h"
#include "engine/openvino/ov_runtime.h"
#include "models/detector.h"
#include "test_util.h"

namespace vas {
namespace {

using testing::asset;

bool openvino_present() { return load_openvino_runtime("").is_ok(); }

// A fresh VASDK_CACHE_DIR per test, removed after it.
class AutoBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = testing::temp_dir() + "/vasdk-auto-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    cache_ = root_ + "/cache";
    ::setenv("VASDK_CACHE_DIR", cache_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("VASDK_CACHE_DIR");
    (void)std::system(("rm -rf '" + root_ + "'").c_str());
  }
  static EngineOptions options() {
    EngineOptions o;
    o.backend = "auto";
    o.threads = 1;
    o.probe_shapes = {{1, 3, 320, 320}};
    return o;
  }
  std::unique_ptr<Engine> make(const EngineOptions& o) {
    auto e = create_engine(asset("yolov3-tiny.onnx"), o);
    EXPECT_TRUE(e.is_ok()) << e.status().message();
    return e.is_ok() ? std::move(e).value() : nullptr;
  }
  std::vector<std::string> cache_files() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir((cache_ + "/backends").c_str())) {
      while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n.rfind("auto-", 0) == 0) out.push_back(cache_ + "/backends/" + n);
      }
      ::closedir(d);
    }
    return out;
  }
  static int mode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
  }
  static std::string first_note(const Engine& e) {
    return e.notes().empty() ? std::string() : e.notes()[0];
  }
  std::string root_, cache_;
};

TEST_F(AutoBackend, MeasuresOnceThenLoadsOnlyTheCachedChoice) {
  auto first = make(options());
  ASSERT_TRUE(first);
  const std::string note = first_note(*first);
  if (!openvino_present()) {
    EXPECT_EQ(first->backend_name().rfind("ort ", 0), 0u) << first->backend_name();
    EXPECT_NE(note.find("auto: ort, the only backend present"), std::string::npos) << note;
    EXPECT_NE(note.find("openvino unavailable"), std::string::npos) << note;
    EXPECT_TRUE(cache_files().empty()) << "nothing to choose, nothing cached";
    GTEST_SKIP() << "the openvino package is absent here: only the ORT path was checked";
  }
  ASSERT_NE(note.find("measured now"), std::string::npos) << note;
  std::printf("%s\n", note.c_str());
  EXPECT_NE(note.find("ort "), std::string::npos) << note;
  EXPECT_NE(note.find("openvino "), std::string::npos) << note;
  const std::string chosen = first->backend_name().substr(0, first->backend_name().find(' '));
  EXPECT_EQ(note.rfind("auto: " + chosen + " ", 0), 0u) << note;

  // The cache is private and holds the choice, not the model.
  EXPECT_EQ(mode_of(cache_), 0700);
  EXPECT_EQ(mode_of(cache_ + "/backends"), 0700);
  const auto files = cache_files();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(mode_of(files[0]), 0600);
  const std::string text = testing::read_file(files[0]);
  EXPECT_NE(text.find("\"backend\": \"" + chosen + "\""), std::string::npos) << text;
  EXPECT_LT(text.size(), 4096u) << "the cache holds a choice, not model bytes";

  auto again = make(options());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->backend_name(), first->backend_name());
  EXPECT_NE(first_note(*again).find("cached choice"), std::string::npos) << first_note(*again);
  EXPECT_EQ(cache_files().size(), 1u);

  // Options that change speed are part of the key: two threads are measured afresh.
  EngineOptions two = options();
  two.threads = 2;
  auto other = make(two);
  ASSERT_TRUE(other);
  EXPECT_NE(first_note(*other).find("measured now"), std::string::npos) << first_note(*other);
  EXPECT_EQ(cache_files().size(), 2u);
}

TEST_F(AutoBackend, DamagedCacheIsMeasuredAgainAndPublicDirIsMadePrivate) {
  if (!openvino_present()) GTEST_SKIP() << "needs two backends to cache a choice";
  auto first = make(options());
  ASSERT_TRUE(first);
  const auto files = cache_files();
  ASSERT_EQ(files.size(), 1u);
  testing::write_file(files[0], "{\"backend\": \"openvino\", \"key\": [1, 2");  // cut short
  ASSERT_EQ(::chmod(cache_.c_str(), 0755), 0);
  auto again = make(options());
  ASSERT_TRUE(again);
  EXPECT_NE(first_note(*again).find("measured now"), std::string::npos) << first_note(*again);
  EXPECT_EQ(mode_of(cache_), 0700);
  EXPECT_NE(testing::read_file(files[0]).find("\"key\""), std::string::npos);
  // A choice cached for another key (another model, CPU or version) is not taken either.
  testing::write_file(files[0], "{\"backend\": \"openvino\", \"key\": \"another model\"}");
  auto third = make(options());
  ASSERT_TRUE(third);
  EXPECT_NE(first_note(*third).find("measured now"), std::string::npos) << first_note(*third);
}

TEST_F(AutoBackend, DynamicInputWithoutProbeShapeFallsBackToOrtAndSaysWhy) {
  EngineOptions o = options();
  o.probe_shapes.clear();  // yolov3-tiny's height and width are dynamic
  auto e = make(o);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->backend_name().rfind("ort ", 0), 0u) << e->backend_name();
  if (openvino_present()) {
    EXPECT_NE(first_note(*e).find("default; not measured"), std::string::npos) << first_note(*e);
    EXPECT_NE(first_note(*e).find("dynamic dims"), std::string::npos) << first_note(*e);
  }
  EXPECT_TRUE(cache_files().empty());
}

TEST_F(AutoBackend, UnwritableCacheStillChoosesAndSaysItWasNotCached) {
  if (!openvino_present()) GTEST_SKIP() << "needs two backends to cache a choice";
  testing::write_file(root_ + "/file", "x");
  ::setenv("VASDK_CACHE_DIR", (root_ + "/file/sub").c_str(), 1);  // under a regular file
  auto e = make(options());
  ASSERT_TRUE(e);
  EXPECT_NE(first_note(*e).find("not cached"), std::string::npos) << first_note(*e);
}

TEST_F(AutoBackend, DetectorOptionAutoRunsAtItsInputSize) {
  auto opts = parse_detector_options(
      R"({"backend": "auto", "threads": 1, "input_width": 320, "input_height": 256})");
  ASSERT_TRUE(opts.is_ok()) << opts.status().message();
  auto d = Detector::create(asset("yolov3-tiny.onnx"), opts.value());
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  const std::string note =
      d.value()->engine().notes().empty() ? "" : d.value()->engine().notes()[0];
  EXPECT_EQ(note.rfind("auto: ", 0), 0u) << note;
  EXPECT_EQ(note.find("not measured"), std::string::npos) << "the detector gives a probe shape";
}

TEST(EngineRegistry, UnknownBackendListsAuto) {
  EngineOptions o;
  o.backend = "tensorflow";
  auto e = create_engine(asset("yolov3-tiny.onnx"), o);
  ASSERT_FALSE(e.is_ok());
  EXPECT_EQ(e.status().code(), StatusCode::kBackendUnavailable);
  EXPECT_NE(e.status().message().find("auto"), std::string::npos) << e.status().message();
}

}  // namespace
}  // namespace vas
