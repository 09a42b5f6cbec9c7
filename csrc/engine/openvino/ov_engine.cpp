#include "engine/openvino/ov_engine.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

#include "core/file_io.h"
#include "core/log.h"
#include "engine/latency_stats.h"
#include "engine/model_scan.h"
#include "engine/openvino/ov_runtime.h"

namespace vas {
namespace {

constexpr const char* kDevice = "CPU";
// A run() waits this long for a free infer request before it gives up. Requests are held only
// for one inference, so only a hung plugin reaches it.
constexpr auto kRequestWait = std::chrono::seconds(120);

Result<DataType> from_ov(const OvRuntime& rt, ov_element_type_e t) {
  switch (t) {
    case OV_ELEM_F32:
      return DataType::kFloat32;
    case OV_ELEM_F16:
      return DataType::kFloat16;
    case OV_ELEM_I8:
      return DataType::kInt8;
    case OV_ELEM_I32:
      return DataType::kInt32;
    case OV_ELEM_I64:
      return DataType::kInt64;
    default:
      break;
  }
  // U8's value moved when releases added sub-byte types; trust it from the checked series on.
  if (t == OV_ELEM_U8_2026 && rt.version_year >= 2026) return DataType::kUInt8;
  return unsupported("OpenVINO element type " + std::to_string(static_cast<unsigned>(t)) +
                     " (OpenVINO " + rt.version + ")");
}

ov_element_type_e to_ov(DataType t) {
  switch (t) {
    case DataType::kFloat32:
      return OV_ELEM_F32;
    case DataType::kFloat16:
      return OV_ELEM_F16;
    case DataType::kUInt8:
      return OV_ELEM_U8_2026;
    case DataType::kInt8:
      return OV_ELEM_I8;
    case DataType::kInt32:
      return OV_ELEM_I32;
    case DataType::kInt64:
      return OV_ELEM_I64;
  }
  return OV_ELEM_DYNAMIC;
}

// Option value -> OpenVINO property value; empty for "use the plugin's default".
Result<std::string> precision_property(const std::string& v) {
  if (v.empty() || v == "f32" || v == "bf16" || v == "f16") return v;
  return invalid_config(
      "engine option 'precision_hint' must be f32, bf16, f16 or empty (the "
      "plugin's default), got '" +
      v + "'");
}

Result<std::string> performance_property(const std::string& v) {
  if (v.empty()) return std::string();
  if (v == "latency") return std::string("LATENCY");
  if (v == "throughput") return std::string("THROUGHPUT");
  return invalid_config(
      "engine option 'performance_hint' must be latency, throughput or empty (the plugin's "
      "default), got '" +
      v + "'");
}

// Calls the variadic ov_core_compile_model with the key/value strings in kv.
ov_status_e compile(const OvRuntime& rt, const ov_model* model, const std::vector<const char*>& kv,
                    ov_compiled_model** out) {
  const auto f = rt.api.core_compile_model;
  const char* const* p = kv.data();
  switch (kv.size()) {
    case 0:
      return f(rt.core, model, kDevice, 0, out);
    case 2:
      return f(rt.core, model, kDevice, 2, out, p[0], p[1]);
    case 4:
      return f(rt.core, model, kDevice, 4, out, p[0], p[1], p[2], p[3]);
    case 6:
      return f(rt.core, model, kDevice, 6, out, p[0], p[1], p[2], p[3], p[4], p[5]);
    case 8:
      return f(rt.core, model, kDevice, 8, out, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
    default:
      return OV_STATUS_GENERAL_ERROR;
  }
}

// One infer request of the pool and what it has been given.
struct Request {
  ov_infer_request* handle = nullptr;
  // The caller's output buffers were set on it: an unbound run must not write into them.
  bool external_outputs = false;
};

class OvEngine final : public Engine {
 public:
  OvEngine(const OvRuntime* rt, std::string model)
      : rt_(rt), api_(rt->api), model_(std::move(model)) {}

  ~OvEngine() override {
    for (Request& r : requests_) {
      if (r.handle) api_.request_free(r.handle);
    }
    if (compiled_) api_.compiled_free(compiled_);
  }

  // data == nullptr: load model_ as a path.
  Status init(const EngineOptions& options, const void* data, size_t size) {
    if (options.threads < 0) return invalid_config("engine option 'threads' must be >= 0");
    if (options.streams < 0) return invalid_config("engine option 'streams' must be >= 0");
    if (options.infer_requests < 0) {
      return invalid_config("engine option 'infer_requests' must be >= 0");
    }
    VAS_ASSIGN_OR_RETURN(const std::string precision, precision_property(options.precision_hint));
    VAS_ASSIGN_OR_RETURN(const std::string perf, performance_property(options.performance_hint));
    if (options.providers != std::vector<std::string>{"cpu"}) {
      notes_.emplace_back(
          "engine option 'providers' applies to backend 'ort' only; OpenVINO runs "
          "on its CPU plugin");
    }

    // The summary decides which quantisation formats are accepted, before OpenVINO reads it.
    std::string bytes;
    if (!data) read_file_bytes(model_, &bytes);  // unreadable: OpenVINO's read names the cause
    const OnnxSummary summary =
        data ? scan_onnx(data, size) : scan_onnx(bytes.data(), bytes.size());
    precision_ = precision_of(summary);
    if (summary.has_16bit_quant) {
      return unsupported("model '" + model_ +
                         "': 16-bit QDQ (w8a16) models are not supported by backend 'openvino' "
                         "(it runs FP32, FP16 and INT8 QDQ models); use backend 'ort'");
    }

    ov_model* model = nullptr;
    ov_status_e st = OV_STATUS_OK;
    if (data) {
      st = api_.core_read_model_from_memory(rt_->core, static_cast<const char*>(data), size,
                                            nullptr, &model);
    } else {
      st = api_.core_read_model(rt_->core, model_.c_str(), nullptr, &model);
    }
    if (st != OV_STATUS_OK) {
      // What to do comes first: OpenVINO's own report can run past the message's bound.
      std::string m = "model '" + model_ +
                      "': backend 'openvino' runs ONNX FP32, FP16 and INT8 QDQ models; for "
                      "QOperator models with com.microsoft ops use backend 'ort'";
      if (summary.has_quant_ops) {
        // `vasdk model quantize` saves at ORT's extended level by default, which fuses the QDQ
        // pairs into QLinearConv and com.microsoft QLinear* ops.
        m += "; `vasdk model quantize --no-optimize` writes the plain QDQ graph it runs";
      }
      m +=
          ". " + rt_->error(st, StatusCode::kInvalidModel, "OpenVINO ov_core_read_model").message();
      return {StatusCode::kInvalidModel, m};
    }

    std::vector<std::string> kv_store;
    if (!precision.empty())
      kv_store.insert(kv_store.end(), {"INFERENCE_PRECISION_HINT", precision});
    if (!perf.empty()) kv_store.insert(kv_store.end(), {"PERFORMANCE_HINT", perf});
    if (options.streams > 0) {
      kv_store.insert(kv_store.end(), {"NUM_STREAMS", std::to_string(options.streams)});
    }
    if (options.threads > 0) {
      kv_store.insert(kv_store.end(), {"INFERENCE_NUM_THREADS", std::to_string(options.threads)});
    }
    std::vector<const char*> kv;
    kv.reserve(kv_store.size());
    for (const auto& s : kv_store) kv.push_back(s.c_str());
    st = compile(*rt_, model, kv, &compiled_);
    api_.model_free(model);  // the compiled model keeps what it needs
    if (st != OV_STATUS_OK) {
      return rt_->error(st, StatusCode::kRuntimeError,
                        "model '" + model_ + "': OpenVINO ov_core_compile_model on " + kDevice);
    }

    VAS_RETURN_IF_ERROR(describe(true, summary, &inputs_, &input_ports_));
    VAS_RETURN_IF_ERROR(describe(false, summary, &outputs_, &output_ports_));
    VAS_RETURN_IF_ERROR(read_properties(options));
    if (std::string risk = int8_cpu_risk(model_, summary, cpu_has_int8_vnni()); !risk.empty()) {
      log_warn(risk);
      notes_.push_back(std::move(risk));
    }
    return warm_up(options.warmup_runs);
  }

  const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  std::string backend_name() const override { return "openvino " + short_version(); }
  int parallel_runs() const override { return max_requests_; }
  std::string precision() const override { return precision_; }
  std::vector<std::string> providers() const override { return {"cpu"}; }
  std::vector<std::string> notes() const override { return notes_; }
  EngineStats stats() const override { return stats_.snapshot(); }

  // The caller's inputs are wrapped without copies. Once an input shape has run, the caller's
  // output tensors are set on the request so that OpenVINO writes into them directly.
  Status run(const std::vector<TensorView>& in, std::vector<Tensor>* out) override {
    if (out == nullptr) return invalid_argument("model '" + model_ + "': outputs is NULL");
    VAS_RETURN_IF_ERROR(check_run_inputs(model_, inputs_, in));
    const auto t0 = std::chrono::steady_clock::now();
    out->resize(outputs_.size());
    VAS_ASSIGN_OR_RETURN(const size_t slot, acquire());
    Status st = run_on(slot, in, out);
    release(slot);
    if (st.is_ok()) {
      stats_.record(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return st;
  }

 private:
  using ShapeKey = std::vector<std::vector<int64_t>>;

  std::string short_version() const {
    const auto dash = rt_->version.find('-');
    return dash == std::string::npos ? rt_->version : rt_->version.substr(0, dash);
  }

  Status fail(ov_status_e st, const std::string& call) const {
    return rt_->error(st, StatusCode::kRuntimeError, "model '" + model_ + "': OpenVINO " + call);
  }

  // A host-memory tensor over data; the caller frees it with tensor_free (OpenVINO keeps its own
  // reference where it is set on a request).
  Status wrap(void* data, const std::vector<int64_t>& shape, DataType dtype, ov_tensor** t,
              const char* kind, const std::string& name) const {
    const ov_shape_t s{static_cast<int64_t>(shape.size()), const_cast<int64_t*>(shape.data())};
    const ov_status_e st = api_.tensor_create_from_host_ptr(to_ov(dtype), s, data, t);
    if (st == OV_STATUS_OK) return Status::ok();
    return fail(st, std::string("ov_tensor_create_from_host_ptr (") + kind + " '" + name + "')");
  }

  Status run_on(size_t slot, const std::vector<TensorView>& in, std::vector<Tensor>* out) {
    const bool bind = bind_known_shapes(in, out);
    Request& r = requests_[slot];
    if (!bind && r.external_outputs) {
      // Drop the caller buffers an earlier run set on this request: a fresh request allocates
      // its own outputs.
      VAS_RETURN_IF_ERROR(renew(&r));
    }
    for (size_t i = 0; i < in.size(); ++i) {
      ov_tensor* t = nullptr;
      VAS_RETURN_IF_ERROR(wrap(in[i].data, in[i].shape, in[i].dtype, &t, "input", inputs_[i].name));
      const ov_status_e st = api_.request_set_input_tensor_by_index(r.handle, input_ports_[i], t);
      api_.tensor_free(t);
      if (st != OV_STATUS_OK) {
        return fail(st,
                    "ov_infer_request_set_input_tensor_by_index (input '" + inputs_[i].name + "')");
      }
    }
    if (bind) {
      for (size_t i = 0; i < outputs_.size(); ++i) {
        Tensor& dst = (*out)[i];
        ov_tensor* t = nullptr;
        VAS_RETURN_IF_ERROR(
            wrap(dst.data(), dst.shape(), outputs_[i].dtype, &t, "output", outputs_[i].name));
        const ov_status_e st =
            api_.request_set_output_tensor_by_index(r.handle, output_ports_[i], t);
        api_.tensor_free(t);
        r.external_outputs = true;
        if (st != OV_STATUS_OK) {
          return fail(st, "ov_infer_request_set_output_tensor_by_index (output '" +
                              outputs_[i].name + "')");
        }
      }
    }
    if (const ov_status_e st = api_.request_infer(r.handle); st != OV_STATUS_OK) {
      Status s = fail(st, "ov_infer_request_infer");
      if (!bind) return s;
      // The output shape depends on more than the input shape: stop binding for it, run again.
      never_bind(in);
      VAS_RETURN_IF_ERROR(renew(&r));
      return run_on(slot, in, out);
    }
    if (bind) return Status::ok();
    for (size_t i = 0; i < outputs_.size(); ++i) {
      VAS_RETURN_IF_ERROR(copy_output(r.handle, i, &(*out)[i]));
    }
    remember_output_shapes(in, *out);
    return Status::ok();
  }

  Status copy_output(ov_infer_request* req, size_t i, Tensor* dst) const {
    ov_tensor* t = nullptr;
    ov_status_e st = api_.request_get_output_tensor_by_index(req, output_ports_[i], &t);
    if (st != OV_STATUS_OK) {
      return fail(
          st, "ov_infer_request_get_output_tensor_by_index (output '" + outputs_[i].name + "')");
    }
    ov_shape_t shape{};
    ov_element_type_e et{};
    void* src = nullptr;
    st = api_.tensor_get_shape(t, &shape);
    if (st == OV_STATUS_OK) st = api_.tensor_get_element_type(t, &et);
    if (st == OV_STATUS_OK) st = api_.tensor_data(t, &src);
    Status result = Status::ok();
    if (st != OV_STATUS_OK) {
      result = fail(st, "output tensor '" + outputs_[i].name + "' (shape, type or data)");
    } else if (auto dtype = from_ov(*rt_, et); !dtype.is_ok()) {
      result =
          dtype.status().with_context("model '" + model_ + "' output '" + outputs_[i].name + "'");
    } else {
      dst->reshape(dtype.value(), std::vector<int64_t>(shape.dims, shape.dims + shape.rank));
      if (dst->byte_size()) std::memcpy(dst->data(), src, dst->byte_size());
    }
    if (shape.dims) api_.shape_free(&shape);
    api_.tensor_free(t);
    return result;
  }

  // ---- the request pool -------------------------------------------------------------------
  // Requests are made on demand up to max_requests_; a run() holds one for its inference.

  Result<size_t> acquire() {
    std::unique_lock<std::mutex> lock(pool_mutex_);
    const bool ok = pool_cv_.wait_for(
        lock, kRequestWait, [&] { return !free_.empty() || created_ < requests_.size(); });
    if (!ok) {
      return Status(StatusCode::kTimeout, "model '" + model_ + "': no OpenVINO infer request " +
                                              "became free within 120 s");
    }
    if (!free_.empty()) {
      const size_t slot = free_.back();
      free_.pop_back();
      return slot;
    }
    // The next never-used slot; requests_ was sized once at creation and never moves.
    Request& r = requests_[created_];
    if (const ov_status_e st = api_.compiled_create_infer_request(compiled_, &r.handle);
        st != OV_STATUS_OK) {
      return fail(st, "ov_compiled_model_create_infer_request");
    }
    return created_++;
  }

  void release(size_t slot) {
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      free_.push_back(slot);
    }
    pool_cv_.notify_one();
  }

  // Replaces a request (held by the caller) with a fresh one.
  Status renew(Request* r) {
    ov_infer_request* fresh = nullptr;
    if (const ov_status_e st = api_.compiled_create_infer_request(compiled_, &fresh);
        st != OV_STATUS_OK) {
      return fail(st, "ov_compiled_model_create_infer_request");
    }
    api_.request_free(r->handle);
    r->handle = fresh;
    r->external_outputs = false;
    return Status::ok();
  }

  // ---- output shapes per input shape (as the ORT backend) ---------------------------------

  int find_shapes(const std::vector<TensorView>& in) const {
    for (size_t e = 0; e < output_shapes_.size(); ++e) {
      const ShapeKey& key = output_shapes_[e].first;
      bool same = key.size() == in.size();
      for (size_t i = 0; same && i < in.size(); ++i) same = key[i] == in[i].shape;
      if (same) return static_cast<int>(e);
    }
    return -1;
  }
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

  // ---- creation ---------------------------------------------------------------------------

  // Inputs or outputs of the compiled model, in the ONNX file's order where the names match
  // (OpenVINO keeps that order today; the file is the contract). ports[i] is OpenVINO's index
  // of vasdk's i-th tensor.
  Status describe(bool is_input, const OnnxSummary& summary, std::vector<TensorInfo>* infos,
                  std::vector<size_t>* ports) {
    const char* kind = is_input ? "input" : "output";
    size_t count = 0;
    ov_status_e st = is_input ? api_.compiled_inputs_size(compiled_, &count)
                              : api_.compiled_outputs_size(compiled_, &count);
    if (st != OV_STATUS_OK) return fail(st, std::string("ov_compiled_model_") + kind + "s_size");
    std::vector<TensorInfo> found;
    for (size_t i = 0; i < count; ++i) {
      ov_output_const_port* port = nullptr;
      st = is_input ? api_.compiled_input_by_index(compiled_, i, &port)
                    : api_.compiled_output_by_index(compiled_, i, &port);
      if (st != OV_STATUS_OK)
        return fail(st, std::string("ov_compiled_model_") + kind + "_by_index");
      TensorInfo ti;
      char* name = nullptr;
      ov_element_type_e et{};
      ov_partial_shape_t ps{};
      st = api_.port_get_any_name(port, &name);
      if (st == OV_STATUS_OK) {
        ti.name = name;
        api_.free(name);
        st = api_.port_get_element_type(port, &et);
      }
      if (st == OV_STATUS_OK) st = api_.port_get_partial_shape(port, &ps);
      api_.const_port_free(port);
      if (st != OV_STATUS_OK) {
        return fail(st, std::string(kind) + " " + std::to_string(i) + " (name, type or shape)");
      }
      const bool rank_known = ps.rank.min == ps.rank.max && ps.rank.min >= 0;
      for (int64_t d = 0; rank_known && d < ps.rank.max; ++d) {
        const ov_dimension_t dim = ps.dims[d];
        ti.shape.push_back(dim.min == dim.max ? dim.min : -1);
      }
      api_.partial_shape_free(&ps);
      if (!rank_known) {
        return unsupported("model '" + model_ + "' " + kind + " '" + ti.name +
                           "' has a dynamic rank");
      }
      auto dtype = from_ov(*rt_, et);
      if (!dtype.is_ok()) {
        return dtype.status().with_context("model '" + model_ + "' " + kind + " '" + ti.name + "'");
      }
      ti.dtype = dtype.value();
      found.push_back(std::move(ti));
    }
    const auto& declared = is_input ? summary.inputs : summary.outputs;
    std::vector<size_t> order(found.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (declared.size() == found.size()) {
      std::vector<size_t> by_file;
      for (const auto& d : declared) {
        auto it = std::find_if(found.begin(), found.end(),
                               [&](const TensorInfo& t) { return t.name == d.name; });
        if (it == found.end()) break;
        by_file.push_back(static_cast<size_t>(it - found.begin()));
      }
      if (by_file.size() == found.size()) order = by_file;
    }
    for (size_t idx : order) {
      infos->push_back(found[idx]);
      ports->push_back(idx);
    }
    return Status::ok();
  }

  Result<std::string> property(const char* key) const {
    char* value = nullptr;
    const ov_status_e st = api_.compiled_get_property(compiled_, key, &value);
    if (st != OV_STATUS_OK) {
      return fail(st, std::string("ov_compiled_model_get_property(") + key + ")");
    }
    std::string v = value ? value : "";
    if (value) api_.free(value);
    return v;
  }

  Status read_properties(const EngineOptions& options) {
    VAS_ASSIGN_OR_RETURN(const std::string optimal, property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"));
    VAS_ASSIGN_OR_RETURN(const std::string precision, property("INFERENCE_PRECISION_HINT"));
    VAS_ASSIGN_OR_RETURN(const std::string streams, property("NUM_STREAMS"));
    VAS_ASSIGN_OR_RETURN(const std::string threads, property("INFERENCE_NUM_THREADS"));
    const int n = std::atoi(optimal.c_str());
    max_requests_ = options.infer_requests > 0 ? options.infer_requests : std::max(1, n);
    requests_.resize(static_cast<size_t>(max_requests_));
    inference_precision_ = precision;
    notes_.push_back("OpenVINO " + rt_->version + " " + kDevice + ": inference precision " +
                     precision + ", " + streams + " stream(s), " + threads + " thread(s), up to " +
                     std::to_string(max_requests_) + " infer request(s) in flight");
    if (!options.precision_hint.empty() && options.precision_hint != precision) {
      notes_.push_back("precision_hint '" + options.precision_hint +
                       "' was requested; OpenVINO's CPU plugin runs " + precision + " on this CPU");
    }
    return Status::ok();
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

  const OvRuntime* rt_;
  const OvApi& api_;
  std::string model_;
  ov_compiled_model* compiled_ = nullptr;
  std::vector<TensorInfo> inputs_, outputs_;
  std::vector<size_t> input_ports_, output_ports_;
  std::string precision_ = "fp32";
  std::string inference_precision_;
  std::vector<std::string> notes_;

  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  // max_requests_ slots, sized at creation; the first created_ hold a request. A slot is owned
  // by one run() between acquire() and release(); free_ lists the idle ones.
  std::vector<Request> requests_;
  size_t created_ = 0;
  std::vector<size_t> free_;
  int max_requests_ = 1;

  std::mutex shapes_mutex_;
  std::vector<std::pair<ShapeKey, ShapeKey>> output_shapes_;  // at most 64 input shapes

  LatencyStats stats_;
};

Result<std::unique_ptr<Engine>> make(const std::string& name, const EngineOptions& options,
                                     const void* data, size_t size) {
  VAS_ASSIGN_OR_RETURN(const OvRuntime* rt, load_openvino_runtime(options.openvino_library));
  auto engine = std::make_unique<OvEngine>(rt, name);
  VAS_RETURN_IF_ERROR(engine->init(options, data, size));
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace

Result<std::unique_ptr<Engine>> create_openvino_engine(const std::string& model_path,
                                                       const EngineOptions& options) {
  if (!std::ifstream(model_path, std::ios::binary).good()) {
    return not_found("model file '" + model_path + "' does not exist or cannot be read");
  }
  return make(model_path, options, nullptr, 0);
}

Result<std::unique_ptr<Engine>> create_openvino_engine_from_memory(const void* data, size_t size,
                                                                   const std::string& name,
                                                                   const EngineOptions& options) {
  return make(name, options, data, size);
}

}  // namespace vas
