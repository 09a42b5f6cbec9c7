// Bindings for preprocessing (vas::Preprocessor) and memory pools (vas::Pool).
// Native work releases the GIL. Pool buffers cross as numpy arrays whose base object holds a
// reference to the block, so a block returns to its pool when the last array goes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "core/pool.h"
#include "preprocess/preprocess.h"

namespace py = pybind11;

namespace {

using namespace vas_py;  // NOLINT(google-build-using-namespace)

vas::DataType parse_dtype(const std::string& s) {
  if (s == "float32") return vas::DataType::kFloat32;
  if (s == "float16") return vas::DataType::kFloat16;
  if (s == "uint8") return vas::DataType::kUInt8;
  if (s == "int8") return vas::DataType::kInt8;
  throw_status(vas::invalid_argument("unknown dtype '" + s + "' (float32, float16, uint8, int8)"));
}

py::dtype numpy_dtype(vas::DataType dt) {
  switch (dt) {
    case vas::DataType::kFloat16:
      return py::dtype("float16");
    case vas::DataType::kUInt8:
      return py::dtype("uint8");
    case vas::DataType::kInt8:
      return py::dtype("int8");
    default:
      return py::dtype("float32");
  }
}

vas::Interp parse_interp(const std::string& s) {
  if (s == "bilinear" || s == "linear") return vas::Interp::kBilinear;
  if (s == "nearest") return vas::Interp::kNearest;
  if (s == "area") return vas::Interp::kArea;
  throw_status(
      vas::invalid_argument("unknown interpolation '" + s + "' (bilinear, nearest, area)"));
}

vas::Preprocessor::Impl parse_impl(const std::string& s) {
  if (s == "auto") return vas::Preprocessor::Impl::kAuto;
  if (s == "reference") return vas::Preprocessor::Impl::kReference;
  if (s == "portable") return vas::Preprocessor::Impl::kPortable;
  if (s == "avx2") return vas::Preprocessor::Impl::kAvx2;
  if (s == "avx512") return vas::Preprocessor::Impl::kAvx512;
  if (s == "neon") return vas::Preprocessor::Impl::kNeon;
  throw_status(vas::invalid_argument("unknown impl '" + s +
                                     "' (auto, reference, portable, avx2, avx512, neon)"));
}

const char* impl_name(vas::Preprocessor::Impl i) {
  switch (i) {
    case vas::Preprocessor::Impl::kReference:
      return "reference";
    case vas::Preprocessor::Impl::kPortable:
      return "portable";
    case vas::Preprocessor::Impl::kAvx2:
      return "avx2";
    case vas::Preprocessor::Impl::kAvx512:
      return "avx512";
    case vas::Preprocessor::Impl::kNeon:
      return "neon";
    default:
      return "auto";
  }
}

void check_plane(const py::array& a, const char* what) {
  if (a.dtype().kind() != 'u' || a.itemsize() != 1) {
    throw_status(vas::invalid_argument(std::string("image ") + what + " must be uint8"));
  }
}

// An image is one numpy array (see as_image) or a tuple of planes: (Y, UV) for NV12/NV21,
// (Y, U, V) for I420, each 2-D with contiguous rows and any row stride.
vas::ImageView image_from(const py::object& obj, vas::PixelFormat format) {
  if (py::isinstance<py::array>(obj))
    return as_image(py::reinterpret_borrow<py::array>(obj), format);
  if (!py::isinstance<py::tuple>(obj) && !py::isinstance<py::list>(obj)) {
    throw_status(vas::invalid_argument("image must be a numpy array or a tuple of planes"));
  }
  if (format == vas::PixelFormat::kBGR24 || format == vas::PixelFormat::kRGB24) {
    throw_status(vas::invalid_argument(std::string(vas::pixel_format_name(format)) +
                                       " takes one (H, W, 3) array, not a tuple of planes"));
  }
  const py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
  const int n = vas::plane_count(format);
  if (static_cast<int>(seq.size()) != n) {
    throw_status(vas::invalid_argument(std::string(vas::pixel_format_name(format)) + " needs " +
                                       std::to_string(n) + " plane(s), got " +
                                       std::to_string(seq.size())));
  }
  vas::ImageView v;
  v.format = format;
  for (int p = 0; p < n; ++p) {
    const py::array a = py::reinterpret_borrow<py::array>(seq[p]);
    check_plane(a, "plane");
    if (a.ndim() != 2 || a.strides(1) != 1) {
      throw_status(vas::invalid_argument("image plane " + std::to_string(p) +
                                         " must be 2-D with contiguous rows"));
    }
    v.planes[p] = static_cast<const uint8_t*>(a.data());
    v.strides[p] = static_cast<int>(a.strides(0));
    if (p == 0) {
      v.width = static_cast<int>(a.shape(1));
      v.height = static_cast<int>(a.shape(0));
    } else if (a.shape(0) < v.height / 2 || a.shape(1) < vas::plane_row_bytes(format, p, v.width)) {
      throw_status(vas::invalid_argument(
          "image plane " + std::to_string(p) + " is smaller than the chroma of a " +
          std::to_string(v.width) + "x" + std::to_string(v.height) + " image"));
    }
  }
  return v;
}

class PyPreprocessor {
 public:
  PyPreprocessor(int width, int height, bool letterbox, const std::string& color, float scale,
                 std::vector<float> mean, std::vector<float> stdv, int pad_value,
                 const std::string& interp, const std::string& layout, const std::string& dtype,
                 float quant_scale, int zero_point, int threads, const std::string& impl)
      : pre_(threads) {
    if (mean.size() != 3 || stdv.size() != 3) {
      throw_status(vas::invalid_argument("mean and std need 3 values each"));
    }
    if (pad_value < 0 || pad_value > 255) {
      throw_status(vas::invalid_argument("pad_value must be in 0..255"));
    }
    if (color != "RGB" && color != "BGR") {
      throw_status(vas::invalid_argument("color must be 'RGB' or 'BGR', got '" + color + "'"));
    }
    if (layout != "NCHW" && layout != "NHWC") {
      throw_status(vas::invalid_argument("layout must be 'NCHW' or 'NHWC', got '" + layout + "'"));
    }
    spec_.width = width;
    spec_.height = height;
    spec_.mode = letterbox ? vas::ResizeMode::kLetterbox : vas::ResizeMode::kStretch;
    spec_.color = color == "RGB" ? vas::ColorOrder::kRGB : vas::ColorOrder::kBGR;
    spec_.scale = scale;
    for (int c = 0; c < 3; ++c) {
      spec_.mean[c] = mean[c];
      spec_.std[c] = stdv[c];
    }
    spec_.pad_value = static_cast<uint8_t>(pad_value);
    spec_.interp = parse_interp(interp);
    spec_.layout = layout == "NHWC" ? vas::Layout::kNHWC : vas::Layout::kNCHW;
    spec_.dtype = parse_dtype(dtype);
    spec_.quant_scale = quant_scale;
    spec_.zero_point = zero_point;
    check(vas::validate_spec(spec_));
    check(pre_.set_impl(parse_impl(impl)));
  }

  std::vector<ssize_t> item_shape() const {
    if (spec_.layout == vas::Layout::kNHWC) return {spec_.height, spec_.width, 3};
    return {3, spec_.height, spec_.width};
  }

  py::array make_out(const py::object& out, ssize_t batch) const {
    std::vector<ssize_t> shape = item_shape();
    shape.insert(shape.begin(), batch);
    if (out.is_none()) return py::array(numpy_dtype(spec_.dtype), shape);
    if (!py::isinstance<py::array>(out))
      throw_status(vas::invalid_argument("out must be an array"));
    py::array a = py::reinterpret_borrow<py::array>(out);
    if (!a.dtype().is(numpy_dtype(spec_.dtype))) {
      throw_status(vas::invalid_argument("out has dtype " + std::string(py::str(a.dtype())) +
                                         ", expected " + vas::data_type_name(spec_.dtype)));
    }
    if (!(a.flags() & py::array::c_style) || !a.writeable()) {
      throw_status(vas::invalid_argument("out must be a writable C-contiguous array"));
    }
    const size_t need = vas::preprocess_output_bytes(spec_) * static_cast<size_t>(batch);
    if (static_cast<size_t>(a.nbytes()) != need) {
      throw_status(vas::invalid_argument("out holds " + std::to_string(a.nbytes()) +
                                         " bytes, expected " + std::to_string(need)));
    }
    return a;
  }

  py::array run(const py::object& image, const std::string& format, const py::object& roi,
                const py::object& out) {
    const vas::ImageView view = image_from(image, parse_format(format));
    vas::PreprocessSpec spec = spec_;
    if (!roi.is_none()) {
      auto r = roi.cast<std::vector<int>>();
      if (r.size() != 4) throw_status(vas::invalid_argument("roi must be (x, y, width, height)"));
      spec.roi = {r[0], r[1], r[2], r[3]};
      if (spec.roi.empty()) throw_status(vas::invalid_argument("roi must not be empty"));
    }
    py::array dst = make_out(out, 1);
    void* data = dst.mutable_data();
    const size_t bytes = static_cast<size_t>(dst.nbytes());
    {
      py::gil_scoped_release release;
      check(pre_.run(view, spec, data, bytes, &tf_));
    }
    return dst;
  }

  py::array run_batch(const py::list& images, const std::string& format, const py::object& out) {
    const vas::PixelFormat f = parse_format(format);
    std::vector<vas::ImageView> views;
    for (const auto& img : images)
      views.push_back(image_from(py::reinterpret_borrow<py::object>(img), f));
    if (views.empty()) throw_status(vas::invalid_argument("batch needs at least one image"));
    py::array dst = make_out(out, static_cast<ssize_t>(views.size()));
    void* data = dst.mutable_data();
    const size_t bytes = static_cast<size_t>(dst.nbytes());
    batch_tfs_.resize(views.size());
    {
      py::gil_scoped_release release;
      check(pre_.run_batch(views.data(), static_cast<int>(views.size()), spec_, data, bytes,
                           batch_tfs_.data()));
    }
    tf_ = batch_tfs_.back();
    return dst;
  }

  py::tuple transform() const {
    return py::make_tuple(tf_.scale_x, tf_.scale_y, tf_.offset_x, tf_.offset_y);
  }
  std::string impl() const { return impl_name(pre_.resolved_impl()); }
  int threads() const { return pre_.threads(); }

 private:
  vas::PreprocessSpec spec_;
  vas::Preprocessor pre_;
  vas::BoxTransform tf_;
  std::vector<vas::BoxTransform> batch_tfs_;
};

class PyPool {
 public:
  PyPool(const std::string& name, size_t min_block, size_t max_block, size_t capacity,
         bool thread_safe) {
    vas::PoolConfig c;
    c.name = name;
    c.min_block = min_block;
    c.max_block = max_block;
    c.capacity_bytes = capacity;
    c.thread_safe = thread_safe;
    pool_ = take(vas::Pool::create(c));
  }

  // A 1-D uint8 array over a pool block; the block returns when the array (and every view
  // of it) is gone.
  py::array acquire(size_t nbytes) {
    auto* held = new vas::PoolBuffer(take(pool().acquire(nbytes)));
    py::capsule owner(held, [](void* p) { delete static_cast<vas::PoolBuffer*>(p); });
    return py::array(py::dtype("uint8"), {static_cast<ssize_t>(nbytes)}, {ssize_t{1}}, held->data(),
                     owner);
  }

  py::dict stats() const {
    const vas::PoolStats s = pool().stats();
    py::dict d;
    d["capacity_bytes"] = s.capacity_bytes;
    d["reserved_bytes"] = s.reserved_bytes;
    d["in_use_bytes"] = s.in_use_bytes;
    d["in_use_buffers"] = s.in_use_buffers;
    d["high_water_bytes"] = s.high_water_bytes;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    d["failed"] = s.failed;
    return d;
  }

  void reserve(size_t nbytes, size_t count) { check(pool().reserve(nbytes, count)); }
  void trim() { pool().trim(); }
  void check_idle() const { check(pool().check_idle()); }
  // Destroys the pool now; buffers still out stay valid and are reported on stderr.
  void close() { pool_.reset(); }

 private:
  vas::Pool& pool() const {
    if (!pool_) throw_status(vas::invalid_argument("pool is closed"));
    return *pool_;
  }
  std::unique_ptr<vas::Pool> pool_;
};

}  // namespace

void init_preprocess(py::module_& m) {
  py::class_<PyPreprocessor>(m, "Preprocessor")
      .def(py::init<int, int, bool, const std::string&, float, std::vector<float>,
                    std::vector<float>, int, const std::string&, const std::string&,
                    const std::string&, float, int, int, const std::string&>(),
           py::arg("width"), py::arg("height"), py::arg("letterbox"), py::arg("color"),
           py::arg("scale"), py::arg("mean"), py::arg("std"), py::arg("pad_value"),
           py::arg("interp"), py::arg("layout"), py::arg("dtype"), py::arg("quant_scale"),
           py::arg("zero_point"), py::arg("threads"), py::arg("impl"))
      .def("run", &PyPreprocessor::run, py::arg("image"), py::arg("format"), py::arg("roi"),
           py::arg("out"))
      .def("run_batch", &PyPreprocessor::run_batch, py::arg("images"), py::arg("format"),
           py::arg("out"))
      .def_property_readonly("transform", &PyPreprocessor::transform)
      .def_property_readonly("impl", &PyPreprocessor::impl)
      .def_property_readonly("threads", &PyPreprocessor::threads)
      .def_static("avx2_available", &vas::Preprocessor::avx2_available)
      .def_static("avx512_available", &vas::Preprocessor::avx512_available);

  py::class_<PyPool>(m, "Pool")
      .def(py::init<const std::string&, size_t, size_t, size_t, bool>(), py::arg("name"),
           py::arg("min_block"), py::arg("max_block"), py::arg("capacity_bytes"),
           py::arg("thread_safe"))
      .def("acquire", &PyPool::acquire, py::arg("nbytes"))
      .def("stats", &PyPool::stats)
      .def("reserve", &PyPool::reserve, py::arg("nbytes"), py::arg("count"))
      .def("trim", &PyPool::trim)
      .def("check_idle", &PyPool::check_idle)
      .def("close", &PyPool::close);
}
