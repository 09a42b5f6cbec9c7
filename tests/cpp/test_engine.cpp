// Engine tests on the real converted yolov3-tiny.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>

#include "engine/engine.h"
#include "engine/latency_stats.h"
#include "engine/model_scan.h"
#include "test_util.h"

namespace vas {
namespace {

using testing::asset;

std::unique_ptr<Engine> make(EngineOptions o = {}) {
  if (o.threads == 0) o.threads = 1;
  auto e = create_engine(asset("yolov3-tiny.onnx"), o);
  EXPECT_TRUE(e.is_ok()) << e.status().message();
  return e.is_ok() ? std::move(e).value() : nullptr;
}

Tensor random_input(int h, int w, unsigned seed) {
  Tensor t;
  t.reshape(DataType::kFloat32, {1, 3, h, w});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  for (size_t i = 0; i < t.byte_size() / 4; ++i) t.as<float>()[i] = u(rng);
  return t;
}

bool same(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape() != b[i].shape() || a[i].byte_size() != b[i].byte_size()) return false;
    if (std::memcmp(a[i].data(), b[i].data(), a[i].byte_size()) != 0) return false;
  }
  return true;
}

TEST(Engine, DescribesInputsOutputsAndPrecision) {
  auto e = make();
  ASSERT_TRUE(e);
  ASSERT_EQ(e->inputs().size(), 1u);
  EXPECT_EQ(e->inputs()[0].name, "images");
  EXPECT_EQ(e->inputs()[0].shape.size(), 4u);
  EXPECT_EQ(e->inputs()[0].shape[1], 3);
  EXPECT_LT(e->inputs()[0].shape[2], 0);  // dynamic H
  ASSERT_EQ(e->outputs().size(), 2u);
  EXPECT_EQ(e->outputs()[0].name, "yolo_0");
  EXPECT_EQ(e->precision(), "fp32");
  EXPECT_EQ(e->providers(), std::vector<std::string>{"cpu"});
  EXPECT_EQ(e->backend_name().rfind("ort ", 0), 0u);
}

TEST(Engine, RepeatedShapesWriteIntoTheCallersTensors) {
  auto e = make();
  ASSERT_TRUE(e);
  Tensor in = random_input(96, 128, 1);
  std::vector<Tensor> first, out;
  ASSERT_TRUE(e->run({in.view()}, &first).is_ok());
  ASSERT_TRUE(e->run({in.view()}, &out).is_ok());
  const void* data0 = out[0].data();
  ASSERT_TRUE(e->run({in.view()}, &out).is_ok());
  EXPECT_EQ(out[0].data(), data0);  // bound, not reallocated
  EXPECT_TRUE(same(first, out));
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{1, 255, 3, 4}));
  EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{1, 255, 6, 8}));
  // A new input size goes through again and still gives the right shapes.
  Tensor in2 = random_input(64, 64, 2);
  ASSERT_TRUE(e->run({in2.view()}, &out).is_ok());
  EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{1, 255, 4, 4}));
  EngineStats s = e->stats();
  EXPECT_EQ(s.runs, 4u);
  EXPECT_GT(s.median_ms, 0);
  EXPECT_GE(s.p90_ms, s.median_ms);
}

TEST(Engine, LoadsFromMemoryWithTheSameResults) {
  const std::string bytes = testing::read_file(asset("yolov3-tiny.onnx"));
  EngineOptions o;
  o.threads = 1;
  auto mem = create_engine_from_memory(bytes.data(), bytes.size(), "yolov3-tiny (memory)", o);
  ASSERT_TRUE(mem.is_ok()) << mem.status().message();
  auto file = make();
  Tensor in = random_input(64, 96, 3);
  std::vector<Tensor> a, b;
  ASSERT_TRUE(mem.value()->run({in.view()}, &a).is_ok());
  ASSERT_TRUE(file->run({in.view()}, &b).is_ok());
  EXPECT_TRUE(same(a, b));
  EXPECT_EQ(create_engine_from_memory(nullptr, 0, "empty", o).status().code(),
            StatusCode::kInvalidArgument);
  auto bad = create_engine_from_memory(bytes.data(), bytes.size() / 2, "half", o);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(bad.status().message().find("half"), std::string::npos);
}

// Without the memory pattern ORT plans nothing per shape; the outputs must not change, at
// any of the batch sizes a pipeline alternates between.
TEST(Engine, MemoryPatternOffGivesTheSameOutputsAtEveryBatchSize) {
  EngineOptions off;
  off.memory_pattern = false;
  auto plain = make();
  auto lean = make(off);
  ASSERT_TRUE(plain && lean);
  for (int64_t batch : {1, 3, 2, 1}) {
    Tensor in;
    in.reshape(DataType::kFloat32, {batch, 3, 64, 96});
    std::mt19937 rng(static_cast<unsigned>(batch));
    std::uniform_real_distribution<float> u(0, 1);
    for (size_t i = 0; i < in.byte_size() / 4; ++i) in.as<float>()[i] = u(rng);
    std::vector<Tensor> a, b;
    ASSERT_TRUE(plain->run({in.view()}, &a).is_ok());
    ASSERT_TRUE(lean->run({in.view()}, &b).is_ok());
    EXPECT_TRUE(same(a, b)) << "batch " << batch;
  }
}

// Every ORT arena setting computes the same outputs, the shared arena serves two engines at
// once, and a misspelt setting is refused with a message naming the option.
TEST(Engine, ArenaSettingsGiveTheSameOutputs) {
  std::vector<std::unique_ptr<Engine>> engines;
  for (const char* arena : {"shared", "session", "none", "shared"}) {
    EngineOptions o;
    o.arena = arena;
    engines.push_back(make(o));
    ASSERT_TRUE(engines.back()) << arena;
    for (const auto& note : engines.back()->notes()) {
      EXPECT_EQ(note.find("arena"), std::string::npos) << arena << ": " << note;
    }
  }
  for (int64_t batch : {2, 1}) {
    Tensor in;
    in.reshape(DataType::kFloat32, {batch, 3, 64, 96});
    std::mt19937 rng(static_cast<unsigned>(batch));
    std::uniform_real_distribution<float> u(0, 1);
    for (size_t i = 0; i < in.byte_size() / 4; ++i) in.as<float>()[i] = u(rng);
    std::vector<Tensor> first;
    ASSERT_TRUE(engines[0]->run({in.view()}, &first).is_ok());
    for (size_t e = 1; e < engines.size(); ++e) {
      std::vector<Tensor> out;
      ASSERT_TRUE(engines[e]->run({in.view()}, &out).is_ok());
      EXPECT_TRUE(same(first, out)) << "engine " << e << " batch " << batch;
    }
  }
  EngineOptions bad;
  bad.arena = "pooled";
  auto e = create_engine(asset("yolov3-tiny.onnx"), bad);
  ASSERT_FALSE(e.is_ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(e.status().message().find("'arena'"), std::string::npos) << e.status().message();
}

// Several threads share one engine, each with its own outputs (run under TSan in CI).
TEST(Engine, ConcurrentRunsMatchSerialRuns) {
  auto e = make();
  ASSERT_TRUE(e);
  std::vector<Tensor> inputs;
  std::vector<std::vector<Tensor>> expected(3);
  for (unsigned i = 0; i < 3; ++i) {
    inputs.push_back(random_input(64, 64 + 32 * (i % 2), 10 + i));
    ASSERT_TRUE(e->run({inputs[i].view()}, &expected[i]).is_ok());
  }
  std::vector<int> failures(3, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Tensor> out;
      for (int r = 0; r < 4; ++r) {
        const int i = (t + r) % 3;
        if (!e->run({inputs[i].view()}, &out).is_ok() || !same(out, expected[i])) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(e->stats().runs, 15u);
}

TEST(Engine, RejectsBadInputsWithTheModelAndCause) {
  auto e = make();
  ASSERT_TRUE(e);
  std::vector<Tensor> out;
  Tensor in = random_input(64, 64, 4);
  TensorView v = in.view();
  v.shape = {1, 4, 64, 64};
  Status st = e->run({v}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("expects shape"), std::string::npos);
  EXPECT_NE(st.message().find("yolov3-tiny.onnx"), std::string::npos);
  v = in.view();
  v.dtype = DataType::kUInt8;
  EXPECT_NE(e->run({v}, &out).message().find("expects float32, got uint8"), std::string::npos);
  EXPECT_EQ(e->run({}, &out).code(), StatusCode::kInvalidArgument);
  v = in.view();
  v.data = nullptr;
  EXPECT_EQ(e->run({v}, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e->run({in.view()}, nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(e->run({in.view()}, &out).is_ok());
}

TEST(Engine, MissingProvidersAreReportedNotIgnored) {
  EngineOptions o;
  o.providers = {"cuda"};
  auto only_cuda = create_engine(asset("yolov3-tiny.onnx"), o);
  ASSERT_FALSE(only_cuda.is_ok());
  EXPECT_EQ(only_cuda.status().code(), StatusCode::kBackendUnavailable);
  EXPECT_NE(only_cuda.status().message().find("'cuda' is not available"), std::string::npos);

  o.providers = {"cuda", "cpu"};
  auto fallback = create_engine(asset("yolov3-tiny.onnx"), o);
  ASSERT_TRUE(fallback.is_ok()) << fallback.status().message();
  EXPECT_EQ(fallback.value()->providers(), std::vector<std::string>{"cpu"});
  ASSERT_EQ(fallback.value()->notes().size(), 1u);
  EXPECT_NE(fallback.value()->notes()[0].find("cuda"), std::string::npos);

  o.providers = {"tpu"};
  EXPECT_EQ(create_engine(asset("yolov3-tiny.onnx"), o).status().code(),
            StatusCode::kInvalidConfig);
  o.providers = {"cpu"};
  o.backend = "tensorflow";
  EXPECT_EQ(create_engine(asset("yolov3-tiny.onnx"), o).status().code(),
            StatusCode::kBackendUnavailable);
}

TEST(Engine, OptionErrors) {
  EngineOptions o;
  o.optimization = "maximum";
  EXPECT_EQ(create_engine(asset("yolov3-tiny.onnx"), o).status().code(),
            StatusCode::kInvalidConfig);
  o = {};
  o.warmup_runs = 1;  // dynamic input shape cannot be warmed up blindly
  auto e = create_engine(asset("yolov3-tiny.onnx"), o);
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(e.status().message().find("warmup_runs"), std::string::npos);
  EXPECT_EQ(create_engine("/nonexistent.onnx", {}).status().code(), StatusCode::kNotFound);
}

TEST(LatencyStats, MeanOverAllRunsPercentilesOverTheWindow) {
  LatencyStats stats;
  EXPECT_EQ(stats.snapshot().runs, 0u);
  EXPECT_EQ(stats.snapshot().median_ms, 0);
  for (int i = 1; i <= 10; ++i) stats.record(i);
  EngineStats s = stats.snapshot();
  EXPECT_EQ(s.runs, 10u);
  EXPECT_DOUBLE_EQ(s.mean_ms, 5.5);
  EXPECT_DOUBLE_EQ(s.median_ms, 6);  // sorted[n / 2]
  EXPECT_DOUBLE_EQ(s.p90_ms, 10);    // sorted[n * 9 / 10]
  EXPECT_DOUBLE_EQ(s.last_ms, 10);
  // Once the ring wraps, the old runs leave the percentiles but stay in the mean.
  for (size_t i = 0; i < LatencyStats::kWindow; ++i) stats.record(100);
  s = stats.snapshot();
  EXPECT_EQ(s.runs, 10u + LatencyStats::kWindow);
  EXPECT_DOUBLE_EQ(s.median_ms, 100);
  EXPECT_DOUBLE_EQ(s.p90_ms, 100);
  EXPECT_NEAR(s.mean_ms, (55.0 + 100.0 * LatencyStats::kWindow) / s.runs, 1e-9);
}

TEST(LatencyStats, ConcurrentRecordsAreAllCounted) {
  LatencyStats stats;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&stats] {
      for (int i = 0; i < 1000; ++i) stats.record(1.0);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(stats.snapshot().runs, 4000u);
  EXPECT_DOUBLE_EQ(stats.snapshot().mean_ms, 1.0);
}

TEST(ModelScan, ReadsPrecisionFromTheGraph) {
  const std::string bytes = testing::read_file(asset("yolov3-tiny.onnx"));
  OnnxSummary s = scan_onnx(bytes.data(), bytes.size());
  EXPECT_TRUE(s.parsed);
  EXPECT_FALSE(s.has_quant_ops);
  EXPECT_GT(s.float_initializers, 10u);
  EXPECT_EQ(precision_of(s), "fp32");
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].name, "images");
  EXPECT_EQ(s.inputs[0].elem_type, 1);
  EXPECT_EQ(s.inputs[0].dims, (std::vector<int64_t>{-1, 3, -1, -1}));
  ASSERT_EQ(s.outputs.size(), 2u);
  EXPECT_EQ(s.outputs[1].name, "yolo_1");
  EXPECT_EQ(s.outputs[1].dims[1], 255);
  // Garbage never crashes and is reported as unparsed.
  std::mt19937 rng(7);
  std::string junk(4096, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  EXPECT_FALSE(scan_onnx(junk.data(), junk.size()).parsed);
  EXPECT_FALSE(scan_onnx(bytes.data(), 100).parsed);
}

}  // namespace
}  // namespace vas
