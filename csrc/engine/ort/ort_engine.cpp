#include "engine/ort/ort_engine.h"

#include <onnxruntime_c_api.h>
#include <sys/stat.h>

#include <cstring>
#include <utility>

#include "engine/ort/ort_runtime.h"

namespace vas {
namespace {

// Converts an OrtStatus into a Status with the given code, releasing the OrtStatus.
Status take(const OrtApi* api, OrtStatus* st, StatusCode code, const std::string& what) {
  if (!st) return Status::ok();
  std::string msg = api->GetErrorMessage(st);
  const OrtErrorCode ort_code = api->GetErrorCode(st);
  api->ReleaseStatus(st);
  if (ort_code == ORT_NOT_IMPLEMENTED) code = StatusCode::kUnsupported;
  return Status(code, what + ": " + msg);
}

Result<DataType> from_ort(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      return DataType::kFloat32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
      return DataType::kFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
      return DataType::kUInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
      return DataType::kInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      return DataType::kInt32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      return DataType::kInt64;
    default:
      return unsupported("tensor element type " + std::to_string(static_cast<int>(t)));
  }
}

ONNXTensorElementDataType to_ort(DataType t) {
  switch (t) {
    case DataType::kFloat32:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case DataType::kFloat16:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case DataType::kUInt8:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case DataType::kInt8:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case DataType::kInt32:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case DataType::kInt64:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  }
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}

Result<GraphOptimizationLevel> parse_level(const std::string& level) {
  if (level == "none") return ORT_DISABLE_ALL;
  if (level == "basic") return ORT_ENABLE_BASIC;
  if (level == "extended") return ORT_ENABLE_EXTENDED;
  if (level == "all") return ORT_ENABLE_ALL;
  return invalid_config("engine option 'optimization' must be none|basic|extended|all, got '" +
                        level + "'");
}

class OrtEngine final : public Engine {
 public:
  OrtEngine(const OrtRuntime* rt, std::string model)
      : rt_(rt), api_(rt->api), model_(std::move(model)) {}

  ~OrtEngine() override {
    for (OrtValue* v : out_values_)
      if (v) api_->ReleaseValue(v);
    if (session_) api_->ReleaseSession(session_);
    if (cpu_info_) api_->ReleaseMemoryInfo(cpu_info_);
  }

  Status init(const EngineOptions& options) {
    OrtSessionOptions* so = nullptr;
    VAS_RETURN_IF_ERROR(take(api_, api_->CreateSessionOptions(&so), StatusCode::kRuntimeError,
                             "CreateSessionOptions"));
    auto release_so = [&] { api_->ReleaseSessionOptions(so); };
    auto level = parse_level(options.optimization);
    if (!level.is_ok()) {
      release_so();
      return level.status();
    }
    Status st = take(api_, api_->SetSessionGraphOptimizationLevel(so, level.value()),
                     StatusCode::kRuntimeError, "SetGraphOptimizationLevel");
    if (st.is_ok() && options.threads > 0) {
      st = take(api_, api_->SetIntraOpNumThreads(so, options.threads), StatusCode::kRuntimeError,
                "SetIntraOpNumThreads");
    }
    if (st.is_ok()) {
      st = take(api_, api_->SetInterOpNumThreads(so, 1), StatusCode::kRuntimeError,
                "SetInterOpNumThreads");
    }
    if (st.is_ok()) {
      st = take(api_,
                api_->AddSessionConfigEntry(so, "session.intra_op.allow_spinning",
                                            options.spinning ? "1" : "0"),
                StatusCode::kRuntimeError, "allow_spinning");
    }
    if (st.is_ok()) {
      st = take(api_, api_->CreateSession(rt_->env, model_.c_str(), so, &session_),
                StatusCode::kInvalidModel, "cannot load model '" + model_ + "'");
    }
    release_so();
    VAS_RETURN_IF_ERROR(st);
    VAS_RETURN_IF_ERROR(
        take(api_, api_->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &cpu_info_),
             StatusCode::kRuntimeError, "CreateCpuMemoryInfo"));
    VAS_RETURN_IF_ERROR(describe(true, &inputs_));
    VAS_RETURN_IF_ERROR(describe(false, &outputs_));
    for (const auto& i : inputs_) input_names_.push_back(i.name.c_str());
    for (const auto& o : outputs_) output_names_.push_back(o.name.c_str());
    out_values_.assign(outputs_.size(), nullptr);
    return Status::ok();
  }

  const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  std::string backend_name() const override { return "ort " + rt_->version; }

  Status run(const std::vector<TensorView>& in, std::vector<Tensor>* out) override {
    if (in.size() != inputs_.size()) {
      return invalid_argument("model '" + model_ + "' takes " + std::to_string(inputs_.size()) +
                              " inputs, got " + std::to_string(in.size()));
    }
    Status st = check_inputs(in);
    if (!st.is_ok()) return st;
    // Inputs wrap the caller's memory: no copy.
    std::vector<OrtValue*> in_values(in.size(), nullptr);
    auto release_inputs = [&] {
      for (OrtValue* v : in_values)
        if (v) api_->ReleaseValue(v);
    };
    for (size_t i = 0; i < in.size() && st.is_ok(); ++i) {
      st = take(api_,
                api_->CreateTensorWithDataAsOrtValue(cpu_info_, in[i].data, in[i].byte_size(),
                                                     in[i].shape.data(), in[i].shape.size(),
                                                     to_ort(in[i].dtype), &in_values[i]),
                StatusCode::kRuntimeError, "input '" + inputs_[i].name + "'");
    }
    for (OrtValue*& v : out_values_) {
      if (v) api_->ReleaseValue(v);
      v = nullptr;
    }
    if (st.is_ok()) {
      st =
          take(api_,
               api_->Run(session_, nullptr, input_names_.data(), in_values.data(), in_values.size(),
                         output_names_.data(), output_names_.size(), out_values_.data()),
               StatusCode::kRuntimeError, "model '" + model_ + "' run failed");
    }
    release_inputs();
    VAS_RETURN_IF_ERROR(st);
    out->resize(outputs_.size());
    for (size_t i = 0; i < outputs_.size(); ++i) {
      VAS_RETURN_IF_ERROR(copy_output(i, &(*out)[i]));
    }
    return Status::ok();
  }

 private:
  Status check_inputs(const std::vector<TensorView>& in) const {
    for (size_t i = 0; i < in.size(); ++i) {
      const TensorInfo& want = inputs_[i];
      if (in[i].data == nullptr) return invalid_argument("input '" + want.name + "' has no data");
      if (in[i].dtype != want.dtype) {
        return invalid_argument("model '" + model_ + "' input '" + want.name + "' expects " +
                                data_type_name(want.dtype) + ", got " +
                                data_type_name(in[i].dtype));
      }
      bool ok = in[i].shape.size() == want.shape.size();
      for (size_t d = 0; ok && d < want.shape.size(); ++d) {
        ok = in[i].shape[d] > 0 && (want.shape[d] < 0 || want.shape[d] == in[i].shape[d]);
      }
      if (!ok) {
        return invalid_argument("model '" + model_ + "' input '" + want.name + "' expects shape " +
                                shape_to_string(want.shape) + ", got " +
                                shape_to_string(in[i].shape));
      }
    }
    return Status::ok();
  }

  Status shape_of(const OrtTensorTypeAndShapeInfo* info, ONNXTensorElementDataType* et,
                  std::vector<int64_t>* shape) const {
    size_t rank = 0;
    VAS_RETURN_IF_ERROR(take(api_, api_->GetTensorElementType(info, et), StatusCode::kRuntimeError,
                             "element type"));
    VAS_RETURN_IF_ERROR(
        take(api_, api_->GetDimensionsCount(info, &rank), StatusCode::kRuntimeError, "rank"));
    shape->assign(rank, 0);
    return take(api_, api_->GetDimensions(info, shape->data(), rank), StatusCode::kRuntimeError,
                "dims");
  }

  Status copy_output(size_t i, Tensor* dst) {
    OrtTensorTypeAndShapeInfo* info = nullptr;
    VAS_RETURN_IF_ERROR(take(api_, api_->GetTensorTypeAndShape(out_values_[i], &info),
                             StatusCode::kRuntimeError, "output shape"));
    ONNXTensorElementDataType et{};
    std::vector<int64_t> shape;
    Status st = shape_of(info, &et, &shape);
    api_->ReleaseTensorTypeAndShapeInfo(info);
    VAS_RETURN_IF_ERROR(st);

    auto dtype = from_ort(et);
    if (!dtype.is_ok()) return dtype.status().with_context("output '" + outputs_[i].name + "'");
    void* src = nullptr;
    VAS_RETURN_IF_ERROR(take(api_, api_->GetTensorMutableData(out_values_[i], &src),
                             StatusCode::kRuntimeError, "output data"));
    dst->reshape(dtype.value(), shape);
    if (dst->byte_size()) std::memcpy(dst->data(), src, dst->byte_size());
    return Status::ok();
  }

  Status describe(bool is_input, std::vector<TensorInfo>* infos) {
    size_t count = 0;
    VAS_RETURN_IF_ERROR(take(api_,
                             is_input ? api_->SessionGetInputCount(session_, &count)
                                      : api_->SessionGetOutputCount(session_, &count),
                             StatusCode::kRuntimeError, "io count"));
    OrtAllocator* alloc = nullptr;
    VAS_RETURN_IF_ERROR(take(api_, api_->GetAllocatorWithDefaultOptions(&alloc),
                             StatusCode::kRuntimeError, "allocator"));
    for (size_t i = 0; i < count; ++i) {
      char* name = nullptr;
      VAS_RETURN_IF_ERROR(take(api_,
                               is_input ? api_->SessionGetInputName(session_, i, alloc, &name)
                                        : api_->SessionGetOutputName(session_, i, alloc, &name),
                               StatusCode::kRuntimeError, "io name"));
      TensorInfo ti;
      ti.name = name;
      VAS_RETURN_IF_ERROR(
          take(api_, api_->AllocatorFree(alloc, name), StatusCode::kRuntimeError, "free"));
      OrtTypeInfo* type = nullptr;
      VAS_RETURN_IF_ERROR(take(api_,
                               is_input ? api_->SessionGetInputTypeInfo(session_, i, &type)
                                        : api_->SessionGetOutputTypeInfo(session_, i, &type),
                               StatusCode::kRuntimeError, "io type"));
      const OrtTensorTypeAndShapeInfo* tinfo = nullptr;
      OrtStatus* cast = api_->CastTypeInfoToTensorInfo(type, &tinfo);
      if (cast || !tinfo) {
        if (cast) api_->ReleaseStatus(cast);
        api_->ReleaseTypeInfo(type);
        return unsupported("model '" + model_ + "' " + (is_input ? "input" : "output") + " '" +
                           ti.name + "' is not a tensor");
      }
      ONNXTensorElementDataType et{};
      Status shape_st = shape_of(tinfo, &et, &ti.shape);
      api_->ReleaseTypeInfo(type);
      VAS_RETURN_IF_ERROR(shape_st);
      auto dtype = from_ort(et);
      if (!dtype.is_ok())
        return dtype.status().with_context("model '" + model_ + "' '" + ti.name + "'");
      ti.dtype = dtype.value();
      infos->push_back(std::move(ti));
    }
    return Status::ok();
  }

  const OrtRuntime* rt_;
  const OrtApi* api_;
  std::string model_;
  OrtSession* session_ = nullptr;
  OrtMemoryInfo* cpu_info_ = nullptr;
  std::vector<TensorInfo> inputs_, outputs_;
  std::vector<const char*> input_names_, output_names_;
  std::vector<OrtValue*> out_values_;
};

}  // namespace

Result<std::unique_ptr<Engine>> create_ort_engine(const std::string& model_path,
                                                  const EngineOptions& options) {
  struct stat st {};
  if (::stat(model_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return not_found("model file '" + model_path + "' does not exist");
  }
  VAS_ASSIGN_OR_RETURN(const OrtRuntime* rt, load_ort_runtime(options.library_path));
  auto engine = std::make_unique<OrtEngine>(rt, model_path);
  VAS_RETURN_IF_ERROR(engine->init(options));
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace vas
