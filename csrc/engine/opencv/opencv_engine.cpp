#include "engine/opencv/opencv_engine.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include "core/file_io.h"
#include "engine/latency_stats.h"
#include "engine/model_scan.h"

namespace vas {
namespace {

constexpr int kOnnxFloat = 1;

class OpenCvEngine final : public Engine {
 public:
  explicit OpenCvEngine(std::string model) : model_(std::move(model)) {}

  Status init(const EngineOptions& options, const std::string& bytes) {
    for (const auto& p : options.providers) {
      if (p == "cpu") continue;
      notes_.push_back("execution provider '" + p + "' is not available in the OpenCV backend");
    }
    if (std::find(options.providers.begin(), options.providers.end(), "cpu") ==
        options.providers.end()) {
      return Status(StatusCode::kBackendUnavailable,
                    "model '" + model_ + "': the OpenCV backend only runs on 'cpu'");
    }
    const OnnxSummary summary = scan_onnx(bytes.data(), bytes.size());
    if (!summary.parsed || summary.inputs.empty()) {
      return invalid_model("cannot load model '" + model_ + "': not a readable ONNX file");
    }
    precision_ = precision_of(summary);
    for (const auto* list : {&summary.inputs, &summary.outputs}) {
      for (const auto& v : *list) {
        if (v.elem_type != kOnnxFloat) {
          return unsupported("model '" + model_ +
                             "': the OpenCV backend runs float32 tensors only; '" + v.name +
                             "' has ONNX element type " + std::to_string(v.elem_type));
        }
        TensorInfo ti{v.name, DataType::kFloat32, v.dims};
        (list == &summary.inputs ? inputs_ : outputs_).push_back(ti);
      }
    }
    for (const auto& o : outputs_) output_names_.push_back(o.name);
    try {
      net_ = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
      net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    } catch (const cv::Exception& e) {
      return invalid_model("cannot load model '" + model_ + "' with OpenCV DNN: " + e.msg);
    }
    if (net_.empty()) return invalid_model("cannot load model '" + model_ + "' with OpenCV DNN");
    // OpenCV's thread count is process-wide; it is only changed when asked for.
    if (options.threads > 0) cv::setNumThreads(options.threads);
    return Status::ok();
  }

  const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  std::string backend_name() const override { return std::string("opencv ") + CV_VERSION; }
  std::string precision() const override { return precision_; }
  std::vector<std::string> providers() const override { return {"cpu"}; }
  std::vector<std::string> notes() const override { return notes_; }

  EngineStats stats() const override { return stats_.snapshot(); }

  // cv::dnn::Net::forward is not reentrant, so runs on one engine are serialised.
  Status run(const std::vector<TensorView>& in, std::vector<Tensor>* out) override {
    if (out == nullptr) return invalid_argument("model '" + model_ + "': outputs is NULL");
    VAS_RETURN_IF_ERROR(check_run_inputs(model_, inputs_, in));
    std::lock_guard<std::mutex> lock(mutex_);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      for (size_t i = 0; i < in.size(); ++i) {
        std::vector<int> dims(in[i].shape.begin(), in[i].shape.end());
        // Borrowed: OpenCV copies the blob into the network on setInput.
        cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F, in[i].data);
        net_.setInput(blob, inputs_[i].name);
      }
      net_.forward(results_, output_names_);
    } catch (const cv::Exception& e) {
      return runtime_error("model '" + model_ + "' run failed in OpenCV DNN: " + e.msg);
    }
    out->resize(outputs_.size());
    for (size_t i = 0; i < outputs_.size(); ++i) {
      const cv::Mat& m = results_[i];
      std::vector<int64_t> shape(m.size.p, m.size.p + m.dims);
      (*out)[i].reshape(DataType::kFloat32, shape);
      const cv::Mat cont = m.isContinuous() ? m : m.clone();
      std::memcpy((*out)[i].data(), cont.data, (*out)[i].byte_size());
    }
    stats_.record(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    return Status::ok();
  }

 private:
  std::string model_;
  cv::dnn::Net net_;
  std::vector<TensorInfo> inputs_, outputs_;
  std::vector<cv::String> output_names_;
  std::vector<cv::Mat> results_;
  std::string precision_;
  std::vector<std::string> notes_;
  std::mutex mutex_;  // serialises runs
  LatencyStats stats_;
};

Result<std::unique_ptr<Engine>> make(const std::string& name, const std::string& bytes,
                                     const EngineOptions& options) {
  auto engine = std::make_unique<OpenCvEngine>(name);
  VAS_RETURN_IF_ERROR(engine->init(options, bytes));
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace

Result<std::unique_ptr<Engine>> create_opencv_engine(const std::string& model_path,
                                                     const EngineOptions& options) {
  std::string bytes;
  if (!read_file_bytes(model_path, &bytes))
    return not_found("model file '" + model_path + "' does not exist or cannot be read");
  return make(model_path, bytes, options);
}

Result<std::unique_ptr<Engine>> create_opencv_engine_from_memory(const void* data, size_t size,
                                                                 const std::string& name,
                                                                 const EngineOptions& options) {
  return make(name, std::string(static_cast<const char*>(data), size), options);
}

}  // namespace vas
