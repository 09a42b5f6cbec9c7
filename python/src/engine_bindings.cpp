// vasdk._core.Engine: raw model execution through the SDK's engine (any backend), for the
// model tools and benchmarks. Inputs are borrowed from numpy without copies.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "engine/engine.h"
#include "models/detector.h"

namespace py = pybind11;

namespace {

using namespace vas_py;  // NOLINT(google-build-using-namespace)

vas::DataType dtype_of(const py::array& a) {
  const char kind = a.dtype().kind();
  const auto size = a.itemsize();
  if (kind == 'f' && size == 4) return vas::DataType::kFloat32;
  if (kind == 'f' && size == 2) return vas::DataType::kFloat16;
  if (kind == 'u' && size == 1) return vas::DataType::kUInt8;
  if (kind == 'i' && size == 1) return vas::DataType::kInt8;
  if (kind == 'i' && size == 4) return vas::DataType::kInt32;
  if (kind == 'i' && size == 8) return vas::DataType::kInt64;
  throw_status(vas::invalid_argument("unsupported numpy dtype " + std::string(py::str(a.dtype()))));
}

py::dtype numpy_dtype(vas::DataType t) {
  switch (t) {
    case vas::DataType::kFloat32:
      return py::dtype::of<float>();
    case vas::DataType::kFloat16:
      return py::dtype("float16");
    case vas::DataType::kUInt8:
      return py::dtype::of<uint8_t>();
    case vas::DataType::kInt8:
      return py::dtype::of<int8_t>();
    case vas::DataType::kInt32:
      return py::dtype::of<int32_t>();
    case vas::DataType::kInt64:
      return py::dtype::of<int64_t>();
  }
  return py::dtype::of<float>();
}

py::list describe(const std::vector<vas::TensorInfo>& infos) {
  py::list out;
  for (const auto& i : infos)
    out.append(py::make_tuple(i.name, vas::data_type_name(i.dtype), i.shape));
  return out;
}

class PyEngine {
 public:
  PyEngine(const std::string& model_path, const std::string& options_json) {
    // Engine options share the detector's option names (threads, optimization, ...).
    auto opts = take(vas::parse_detector_options(options_json));
    py::gil_scoped_release release;
    engine_ = take(vas::create_engine(model_path, opts.engine));
  }

  // Runs the model; inputs by name (all required), outputs as new arrays by name.
  // Not for concurrent use from several Python threads on one object (outputs are reused).
  py::dict run(const py::dict& feeds) {
    const auto& infos = engine_->inputs();
    std::vector<vas::TensorView> views;
    std::vector<py::array> keep;  // hold contiguous copies alive during the call
    for (const auto& info : infos) {
      if (!feeds.contains(info.name)) {
        throw_status(vas::invalid_argument("missing input '" + info.name + "'"));
      }
      py::array a = py::array::ensure(feeds[py::str(info.name)], py::array::c_style);
      if (!a) throw_status(vas::invalid_argument("input '" + info.name + "' is not an array"));
      keep.push_back(a);
      vas::TensorView v;
      v.data = const_cast<void*>(a.data());
      v.dtype = dtype_of(a);
      v.shape.assign(a.shape(), a.shape() + a.ndim());
      views.push_back(std::move(v));
    }
    if (feeds.size() != infos.size()) {
      throw_status(vas::invalid_argument("model takes " + std::to_string(infos.size()) +
                                         " inputs, got " + std::to_string(feeds.size())));
    }
    {
      py::gil_scoped_release release;
      check(engine_->run(views, &outputs_));
    }
    py::dict result;
    const auto& out_infos = engine_->outputs();
    for (size_t i = 0; i < outputs_.size(); ++i) {
      const vas::Tensor& t = outputs_[i];
      std::vector<ssize_t> shape(t.shape().begin(), t.shape().end());
      py::array arr(numpy_dtype(t.dtype()), shape);
      std::memcpy(arr.mutable_data(), t.data(), t.byte_size());
      result[py::str(out_infos[i].name)] = arr;
    }
    return result;
  }

  vas::Engine& engine() { return *engine_; }

 private:
  std::unique_ptr<vas::Engine> engine_;
  std::vector<vas::Tensor> outputs_;
};

}  // namespace

void init_engine(py::module_& m) {
  py::class_<PyEngine>(m, "Engine")
      .def(py::init<const std::string&, const std::string&>(), py::arg("model_path"),
           py::arg("options_json") = "")
      .def("run", &PyEngine::run, py::arg("feeds"))
      .def_property_readonly("inputs", [](PyEngine& e) { return describe(e.engine().inputs()); })
      .def_property_readonly("outputs", [](PyEngine& e) { return describe(e.engine().outputs()); })
      .def_property_readonly("backend", [](PyEngine& e) { return e.engine().backend_name(); })
      .def_property_readonly("precision", [](PyEngine& e) { return e.engine().precision(); })
      .def_property_readonly("providers", [](PyEngine& e) { return e.engine().providers(); })
      .def_property_readonly("notes", [](PyEngine& e) { return e.engine().notes(); })
      .def("stats", [](PyEngine& e) {
        const vas::EngineStats s = e.engine().stats();
        py::dict d;
        d["runs"] = s.runs;
        d["mean_ms"] = s.mean_ms;
        d["median_ms"] = s.median_ms;
        d["p90_ms"] = s.p90_ms;
        d["last_ms"] = s.last_ms;
        return d;
      });
}
