#include "engine/ort/ort_engine.h"

#include <onnxruntime_c_api.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <utility>

#include "core/file_io.h"
#include "core/log.h"
#include "engine/latency_stats.h"
#include "engine/model_scan.h"
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

// vasdk provider name -> ORT provider name.
const std::map<std::string, std::string>& provider_names() {
  static const std::map<std::string, std::string> names = {
      {"cpu", "CPUExecutionProvider"},
      {"cuda", "CUDAExecutionProvider"},
      {"tensorrt", "TensorrtExecutionProvider"},
      {"openvino", "OpenVINOExecutionProvider"},
  };
  return names;
}

// Releases an ORT object on scope exit.
template <typename T, void (*OrtApi::*Release)(T*)>
struct OrtPtr {
  const OrtApi* api;
  T* ptr = nullptr;
  ~OrtPtr() {
    if (ptr) (api->*Release)(ptr);
  }
};

class OrtEngine final : public Engine {
 public:
  OrtEngine(const OrtRuntime* rt, std::string model)
      : rt_(rt), api_(rt->api), model_(std::move(model)) {}

  ~OrtEngine() override {
    if (session_) api_->ReleaseSession(session_);
    if (cpu_info_) api_->ReleaseMemoryInfo(cpu_info_);
  }

  // data == nullptr: load model_ as a path.
  Status init(const EngineOptions& options, const void* data, size_t size) {
    OrtPtr<OrtSessionOptions, &OrtApi::ReleaseSessionOptions> so{api_};
    VAS_RETURN_IF_ERROR(take(api_, api_->CreateSessionOptions(&so.ptr), StatusCode::kRuntimeError,
                             "CreateSessionOptions"));
    VAS_ASSIGN_OR_RETURN(GraphOptimizationLevel level, parse_level(options.optimization));
    if (options.threads < 0) return invalid_config("engine option 'threads' must be >= 0");
    VAS_RETURN_IF_ERROR(take(api_, api_->SetSessionGraphOptimizationLevel(so.ptr, level),
                             StatusCode::kRuntimeError, "SetSessionGraphOptimizationLevel"));
    if (options.threads > 0) {
      VAS_RETURN_IF_ERROR(take(api_, api_->SetIntraOpNumThreads(so.ptr, options.threads),
                               StatusCode::kRuntimeError, "SetIntraOpNumThreads"));
    }
    VAS_RETURN_IF_ERROR(take(api_, api_->SetInterOpNumThreads(so.ptr, 1), StatusCode::kRuntimeError,
                             "SetInterOpNumThreads"));
    VAS_RETURN_IF_ERROR(take(api_,
                             api_->AddSessionConfigEntry(so.ptr, "session.intra_op.allow_spinning",
                                                         options.spinning ? "1" : "0"),
                             StatusCode::kRuntimeError, "allow_spinning"));
    if (!options.memory_pattern) {
      VAS_RETURN_IF_ERROR(take(api_, api_->DisableMemPattern(so.ptr), StatusCode::kRuntimeError,
                               "DisableMemPattern"));
    }
    VAS_RETURN_IF_ERROR(set_arena(so.ptr, options.arena));
    VAS_RETURN_IF_ERROR(append_providers(so.ptr, options.providers));
    const std::string what = "cannot load model '" + model_ + "'";
    if (data) {
      VAS_RETURN_IF_ERROR(
          take(api_, api_->CreateSessionFromArray(rt_->env, data, size, so.ptr, &session_),
               StatusCode::kInvalidModel, what));
    } else {
      VAS_RETURN_IF_ERROR(take(api_,
                               api_->CreateSession(rt_->env, model_.c_str(), so.ptr, &session_),
                               StatusCode::kInvalidModel, what));
    }
#if defined(__GLIBC__)
    // Loading frees the model's protobuf and the unoptimised weights in the middle of the
    // heap, where glibc keeps them resident; hand those pages back (51 MiB for yolov3-tiny).
    malloc_trim(0);
#endif
    VAS_RETURN_IF_ERROR(
        take(api_, api_->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &cpu_info_),
             StatusCode::kRuntimeError, "CreateCpuMemoryInfo"));
    VAS_RETURN_IF_ERROR(describe(true, &inputs_));
    VAS_RETURN_IF_ERROR(describe(false, &outputs_));
    for (const auto& i : inputs_) input_names_.push_back(i.name.c_str());
    for (const auto& o : outputs_) output_names_.push_back(o.name.c_str());
    OnnxSummary summary;
    if (data) {
      summary = scan_onnx(data, size);
    } else {
      std::string bytes;
      read_file_bytes(model_, &bytes);  // unreadable: ORT's load above already said why
      summary = scan_onnx(bytes.data(), bytes.size());
    }
    precision_ = precision_of(summary);
    if (std::string risk = int8_cpu_risk(model_, summary, cpu_has_int8_vnni()); !risk.empty()) {
      log_warn(risk);
      notes_.push_back(std::move(risk));
    }
    return warm_up(options.warmup_runs);
  }

  const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  std::string backend_name() const override { return "ort " + rt_->version; }
  std::string precision() const override { return precision_; }
  std::vector<std::string> providers() const override { return providers_; }
  std::vector<std::string> notes() const override { return notes_; }

  EngineStats stats() const override { return stats_.snapshot(); }

  Status run(const std::vector<TensorView>& in, std::vector<Tensor>* out) override {
    if (out == nullptr) return invalid_argument("model '" + model_ + "': outputs is NULL");
    VAS_RETURN_IF_ERROR(check_run_inputs(model_, inputs_, in));
    const auto t0 = std::chrono::steady_clock::now();
    out->resize(outputs_.size());
    // Output shapes seen for this input shape: bind the caller's tensors so ORT writes
    // into them directly. Unknown (first time) or unstable shapes go through ORT's allocator.
    // The steady state allocates nothing here: per-thread value arrays, messages built only on
    // error, shapes compared in place.
    const bool bind = bind_known_shapes(in, out);
    thread_local std::vector<OrtValue*> in_values, out_values;
    in_values.assign(in.size(), nullptr);
    out_values.assign(outputs_.size(), nullptr);
    auto release_all = [&] {
      for (OrtValue*& v : in_values) {
        if (v) api_->ReleaseValue(v);
        v = nullptr;
      }
      for (OrtValue*& v : out_values) {
        if (v) api_->ReleaseValue(v);
        v = nullptr;
      }
    };
    Status st;
    for (size_t i = 0; i < in.size() && st.is_ok(); ++i) {
      st = wrap(in[i].data, in[i].byte_size(), in[i].shape, in[i].dtype, &in_values[i], "input",
                inputs_[i].name);
    }
    if (st.is_ok() && bind) {
      for (size_t i = 0; i < outputs_.size() && st.is_ok(); ++i) {
        Tensor& t = (*out)[i];
        st = wrap(t.data(), t.byte_size(), t.shape(), outputs_[i].dtype, &out_values[i], "output",
                  outputs_[i].name);
      }
    }
    if (st.is_ok()) {
      if (OrtStatus* run_st =
              api_->Run(session_, nullptr, input_names_.data(), in_values.data(), in_values.size(),
                        output_names_.data(), output_names_.size(), out_values.data())) {
        st = take(api_, run_st, StatusCode::kRuntimeError, "model '" + model_ + "' run failed");
        if (bind) {
          // The model's output shape depends on more than the input shape: stop binding.
          never_bind(in);
          release_all();
          return run(in, out);
        }
      }
    }
    if (st.is_ok() && !bind) {
      for (size_t i = 0; i < outputs_.size() && st.is_ok(); ++i) {
        st = copy_output(out_values[i], i, &(*out)[i]);
      }
      if (st.is_ok()) remember_output_shapes(in, *out);
    }
    release_all();
    if (st.is_ok()) {
      stats_.record(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return st;
  }

 private:
  using ShapeKey = std::vector<std::vector<int64_t>>;

  Status set_arena(OrtSessionOptions* so, const std::string& arena) {
    if (arena == "shared") {
      if (rt_->shared_arena) {
        return take(api_, api_->AddSessionConfigEntry(so, "session.use_env_allocators", "1"),
                    StatusCode::kRuntimeError, "use_env_allocators");
      }
      notes_.push_back("shared ORT arena unavailable, the session keeps its own: " +
                       rt_->shared_arena_error);
      return Status::ok();
    }
    if (arena == "session") return Status::ok();
    if (arena == "none") {
      return take(api_, api_->DisableCpuMemArena(so), StatusCode::kRuntimeError,
                  "DisableCpuMemArena");
    }
    return invalid_config("engine option 'arena' must be shared|session|none, got '" + arena + "'");
  }

  Status append_providers(OrtSessionOptions* so, const std::vector<std::string>& wanted) {
    char** avail = nullptr;
    int n_avail = 0;
    VAS_RETURN_IF_ERROR(take(api_, api_->GetAvailableProviders(&avail, &n_avail),
                             StatusCode::kRuntimeError, "GetAvailableProviders"));
    std::vector<std::string> available(avail, avail + n_avail);
    VAS_RETURN_IF_ERROR(take(api_, api_->ReleaseAvailableProviders(avail, n_avail),
                             StatusCode::kRuntimeError, "ReleaseAvailableProviders"));
    std::string avail_list;
    for (const auto& a : available) avail_list += (avail_list.empty() ? "" : ", ") + a;
    if (wanted.empty()) return invalid_config("engine option 'providers' is empty");
    for (const auto& name : wanted) {
      auto it = provider_names().find(name);
      if (it == provider_names().end()) {
        return invalid_config("engine option 'providers': unknown provider '" + name +
                              "' (cpu, cuda, tensorrt, openvino)");
      }
      if (std::find(available.begin(), available.end(), it->second) == available.end()) {
        notes_.push_back("execution provider '" + name + "' is not available in ONNX Runtime " +
                         rt_->version + " (available: " + avail_list + ")");
        continue;
      }
      if (name != "cpu") {
        OrtStatus* st = nullptr;
        if (name == "cuda") {
          OrtCUDAProviderOptionsV2* cuda = nullptr;
          st = api_->CreateCUDAProviderOptions(&cuda);
          if (!st) {
            st = api_->SessionOptionsAppendExecutionProvider_CUDA_V2(so, cuda);
            api_->ReleaseCUDAProviderOptions(cuda);
          }
        } else if (name == "tensorrt") {
          OrtTensorRTProviderOptionsV2* trt = nullptr;
          st = api_->CreateTensorRTProviderOptions(&trt);
          if (!st) {
            st = api_->SessionOptionsAppendExecutionProvider_TensorRT_V2(so, trt);
            api_->ReleaseTensorRTProviderOptions(trt);
          }
        } else {
          st = api_->SessionOptionsAppendExecutionProvider(so, "OpenVINO", nullptr, nullptr, 0);
        }
        if (st) {
          notes_.push_back("execution provider '" + name +
                           "' failed to initialise: " + api_->GetErrorMessage(st));
          api_->ReleaseStatus(st);
          continue;
        }
      }
      providers_.push_back(name);
    }
    if (providers_.empty()) {
      std::string why;
      for (const auto& n : notes_) why += "; " + n;
      return Status(
          StatusCode::kBackendUnavailable,
          "model '" + model_ + "': none of the requested execution providers is usable" + why);
    }
    // ORT always keeps the CPU provider as the last resort for unsupported nodes.
    if (std::find(providers_.begin(), providers_.end(), "cpu") == providers_.end()) {
      providers_.push_back("cpu");
    }
    return Status::ok();
  }

  Status wrap(void* data, size_t bytes, const std::vector<int64_t>& shape, DataType dtype,
              OrtValue** value, const char* kind, const std::string& name) const {
    OrtStatus* st = api_->CreateTensorWithDataAsOrtValue(cpu_info_, data, bytes, shape.data(),
                                                         shape.size(), to_ort(dtype), value);
    if (!st) return Status::ok();
    return take(api_, st, StatusCode::kRuntimeError, std::string(kind) + " '" + name + "'");
  }

  // Index of the cache entry whose input shapes equal those of `in`, or -1.
  int find_shapes(const std::vector<TensorView>& in) const {
    for (size_t e = 0; e < output_shapes_.size(); ++e) {
      const ShapeKey& key = output_shapes_[e].first;
      bool same = key.size() == in.size();
      for (size_t i = 0; same && i < in.size(); ++i) same = key[i] == in[i].shape;
      if (same) return static_cast<int>(e);
    }
    return -1;
  }

  // Shapes the caller's output tensors to the remembered output shapes of this input shape.
  bool bind_known_shapes(const std::vector<TensorView>& in, std::vector<Tensor>* out) {
    std::lock_guard<std::mutex> lock(shapes_mutex_);
    const int e = find_shapes(in);
    if (e < 0 || output_shapes_[e].second.empty()) return false;
    const ShapeKey& shapes = output_shapes_[e].second;
    for (size_t i = 0; i < outputs_.size(); ++i) (*out)[i].reshape(outputs_[i].dtype, shapes[i]);
    return true;
  }
  void remember_output_shapes(const std::vector<TensorView>& in, const std::vector<Tensor>& out) {
    std::lock_guard<std::mutex> lock(shapes_mutex_);
    if (find_shapes(in) >= 0 || output_shapes_.size() >= 64) return;
    ShapeKey key, shapes;
    for (const auto& v : in) key.push_back(v.shape);
    for (const auto& t : out) shapes.push_back(t.shape());
    output_shapes_.emplace_back(std::move(key), std::move(shapes));
  }
  void never_bind(const std::vector<TensorView>& in) {
    std::lock_guard<std::mutex> lock(shapes_mutex_);
    const int e = find_shapes(in);
    if (e >= 0) output_shapes_[e].second.clear();  // an empty entry means "never bind"
  }

  Status warm_up(int runs) {
    if (runs <= 0) return Status::ok();
    std::vector<Tensor> ins(inputs_.size()), outs;
    std::vector<TensorView> views;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      for (int64_t d : inputs_[i].shape) {
        if (d < 0) {
          return invalid_config("model '" + model_ + "': warmup_runs needs fixed input shapes; '" +
                                inputs_[i].name + "' is " + shape_to_string(inputs_[i].shape));
        }
      }
      ins[i].reshape(inputs_[i].dtype, inputs_[i].shape);
      std::memset(ins[i].data(), 0, ins[i].byte_size());
      views.push_back(ins[i].view());
    }
    for (int r = 0; r < runs; ++r) VAS_RETURN_IF_ERROR(run(views, &outs));
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

  Status copy_output(OrtValue* value, size_t i, Tensor* dst) const {
    OrtTensorTypeAndShapeInfo* info = nullptr;
    VAS_RETURN_IF_ERROR(take(api_, api_->GetTensorTypeAndShape(value, &info),
                             StatusCode::kRuntimeError, "output shape"));
    ONNXTensorElementDataType et{};
    std::vector<int64_t> shape;
    Status st = shape_of(info, &et, &shape);
    api_->ReleaseTensorTypeAndShapeInfo(info);
    VAS_RETURN_IF_ERROR(st);
    auto dtype = from_ort(et);
    if (!dtype.is_ok()) return dtype.status().with_context("output '" + outputs_[i].name + "'");
    void* src = nullptr;
    VAS_RETURN_IF_ERROR(take(api_, api_->GetTensorMutableData(value, &src),
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
  std::string precision_ = "fp32";
  std::vector<std::string> providers_, notes_;

  std::mutex shapes_mutex_;
  std::vector<std::pair<ShapeKey, ShapeKey>> output_shapes_;  // at most 64 input shapes

  LatencyStats stats_;
};

Result<std::unique_ptr<Engine>> make(const std::string& name, const EngineOptions& options,
                                     const void* data, size_t size) {
  VAS_ASSIGN_OR_RETURN(const OrtRuntime* rt, load_ort_runtime(options.library_path));
  auto engine = std::make_unique<OrtEngine>(rt, name);
  VAS_RETURN_IF_ERROR(engine->init(options, data, size));
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace

Result<std::unique_ptr<Engine>> create_ort_engine(const std::string& model_path,
                                                  const EngineOptions& options) {
  if (!std::ifstream(model_path, std::ios::binary).good()) {
    return not_found("model file '" + model_path + "' does not exist or cannot be read");
  }
  return make(model_path, options, nullptr, 0);
}

Result<std::unique_ptr<Engine>> create_ort_engine_from_memory(const void* data, size_t size,
                                                              const std::string& name,
                                                              const EngineOptions& options) {
  return make(name, options, data, size);
}

}  // namespace vas
