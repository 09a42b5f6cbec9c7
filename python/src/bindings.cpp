// vasdk._core: thin pybind11 bindings. Native work releases the GIL; errors become
// vasdk.errors exceptions mapped from the status code.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <vasdk/vasdk_version.h>

#include <cstring>
#include <memory>
#include <string>

#include "common.h"
#include "core/status.h"
#include "engine/engine.h"
#include "io/video_reader.h"
#include "io/video_writer.h"
#include "models/decoder.h"
#include "models/detector.h"
#include "models/model_card.h"

namespace py = pybind11;

namespace {

using namespace vas_py;  // NOLINT(google-build-using-namespace)

class PyDetector {
 public:
  PyDetector(const std::string& model_path, const std::string& options_json) {
    auto opts = take(vas::parse_detector_options(options_json));
    py::gil_scoped_release release;
    impl_ = take(vas::Detector::create(no_nul(model_path, "model path"), opts));
  }

  // Returns (boxes[N,4] float32, scores[N] float32, class_ids[N] int32, landmarks[N,5,2] float32).
  py::tuple detect(const py::array& image, const std::string& format) {
    const vas::ImageView view = as_image(image, parse_format(format));
    {
      py::gil_scoped_release release;
      check(impl_->detect(view, &dets_));
    }
    return pack();
  }

  py::tuple pack() const {
    const auto n = static_cast<ssize_t>(dets_.size());
    py::array_t<float> boxes({n, ssize_t{4}});
    py::array_t<float> scores({n});
    py::array_t<int32_t> classes({n});
    py::array_t<float> landmarks({n, ssize_t{5}, ssize_t{2}});
    auto b = boxes.mutable_unchecked<2>();
    auto s = scores.mutable_unchecked<1>();
    auto c = classes.mutable_unchecked<1>();
    float* lm = landmarks.mutable_data();
    for (ssize_t i = 0; i < n; ++i) {
      const vas::Detection& d = dets_[i];
      b(i, 0) = d.x1;
      b(i, 1) = d.y1;
      b(i, 2) = d.x2;
      b(i, 3) = d.y2;
      s(i) = d.score;
      c(i) = d.class_id;
      for (int k = 0; k < 10; ++k) lm[i * 10 + k] = k < 2 * d.num_landmarks ? d.landmarks[k] : NAN;
    }
    return py::make_tuple(boxes, scores, classes, landmarks);
  }

  // One engine run over several images; returns one tuple per image as detect() does.
  py::list detect_batch(const py::list& images, const std::string& format) {
    std::vector<vas::ImageView> views;
    const vas::PixelFormat fmt = parse_format(format);
    for (const auto& img : images) views.push_back(as_image(py::cast<py::array>(img), fmt));
    std::vector<std::vector<vas::Detection>> batch;
    {
      py::gil_scoped_release release;
      check(impl_->detect_batch(views, &batch));
    }
    py::list out;
    for (auto& dets : batch) {
      dets_.swap(dets);
      out.append(pack());
    }
    return out;
  }

  const vas::ModelCard& card() const { return impl_->card(); }
  const vas::Engine& engine() const { return impl_->engine(); }
  std::string backend() const { return impl_->engine().backend_name(); }
  std::pair<int, int> input_size() const { return {impl_->input_width(), impl_->input_height()}; }

 private:
  std::unique_ptr<vas::Detector> impl_;
  std::vector<vas::Detection> dets_;
};

class PyVideoReader {
 public:
  PyVideoReader(const std::string& url, const std::string& format, int open_timeout_ms,
                int read_timeout_ms) {
    vas::VideoReaderOptions o;
    o.output_format = parse_format(format);
    o.open_timeout_ms = open_timeout_ms;
    o.read_timeout_ms = read_timeout_ms;
    py::gil_scoped_release release;
    impl_ = take(vas::VideoReader::open(no_nul(url, "video url"), o));
  }

  // Next frame as a new array (H, W, 3) or (H*3/2, W) for NV12, or None at end of stream.
  py::object read() {
    if (!impl_) throw_status(vas::invalid_argument("video reader is closed"));
    vas::Frame f;
    vas::Status st;
    {
      py::gil_scoped_release release;
      st = impl_->read(&f);
    }
    if (st.code() == vas::StatusCode::kEndOfStream) return py::none();
    check(st);
    const vas::ImageView& v = f.image;
    const bool nv12 = v.format == vas::PixelFormat::kNV12;
    const ssize_t row = nv12 ? v.width : v.width * 3;
    py::array_t<uint8_t> out =
        nv12 ? py::array_t<uint8_t>({ssize_t{v.height * 3 / 2}, ssize_t{v.width}})
             : py::array_t<uint8_t>({ssize_t{v.height}, ssize_t{v.width}, ssize_t{3}});
    uint8_t* dst = out.mutable_data();
    for (int y = 0; y < v.height; ++y)
      std::memcpy(dst + y * row, v.planes[0] + static_cast<size_t>(y) * v.strides[0], row);
    if (nv12) {
      dst += static_cast<size_t>(row) * v.height;
      for (int y = 0; y < v.height / 2; ++y)
        std::memcpy(dst + y * row, v.planes[1] + static_cast<size_t>(y) * v.strides[1], row);
    }
    last_index_ = f.index;
    last_pts_us_ = f.pts_us;
    return std::move(out);
  }

  void close() {
    if (impl_) final_stats_ = impl_->stats();
    impl_.reset();
  }
  // Decoded, damaged and rejected counts so far (after close(): the final ones).
  py::dict stats() const {
    const vas::VideoReaderStats s = impl_ ? impl_->stats() : final_stats_;
    py::dict d;
    d["decoded"] = s.decoded;
    d["damaged"] = s.damaged;
    d["rejected_packets"] = s.rejected_packets;
    d["truncated"] = s.truncated;
    return d;
  }
  const vas::VideoInfo& info() const {
    if (!impl_) throw_status(vas::invalid_argument("video reader is closed"));
    return impl_->info();
  }
  int64_t last_index() const { return last_index_; }
  int64_t last_pts_us() const { return last_pts_us_; }

 private:
  std::unique_ptr<vas::VideoReader> impl_;
  vas::VideoReaderStats final_stats_;
  int64_t last_index_ = -1, last_pts_us_ = 0;
};

class PyVideoWriter {
 public:
  PyVideoWriter(const std::string& path, int width, int height, double fps,
                const std::string& codec) {
    vas::VideoWriterOptions o;
    o.fps = fps;
    if (!codec.empty()) o.codec = codec;
    py::gil_scoped_release release;
    impl_ = take(vas::VideoWriter::open(no_nul(path, "video path"), width, height, o));
  }
  void write(const py::array& frame, const std::string& format) {
    if (!impl_) throw_status(vas::invalid_argument("video writer is closed"));
    const vas::ImageView v = as_image(frame, parse_format(format));
    py::gil_scoped_release release;
    check(impl_->write(v));
  }
  void close() {
    if (!impl_) return;
    vas::Status st;
    {
      py::gil_scoped_release release;
      st = impl_->close();
    }
    impl_.reset();
    check(st);
  }

 private:
  std::unique_ptr<vas::VideoWriter> impl_;
};

}  // namespace

void init_engine(py::module_& m);
void init_track(py::module_& m);
void init_preprocess(py::module_& m);
void init_analytics(py::module_& m);
void init_pipeline(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "vasdk native core (internal; use the vasdk package)";
  m.attr("__version__") = std::to_string(VAS_VERSION_MAJOR) + "." +
                          std::to_string(VAS_VERSION_MINOR) + "." +
                          std::to_string(VAS_VERSION_PATCH);

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const vas_py::StatusError& e) {
      vas_py::set_python_error(e.status);
    }
  });

  m.def("available_backends", &vas::available_backends);
  init_engine(m);
  init_track(m);
  init_preprocess(m);
  init_analytics(m);
  init_pipeline(m);
  // Model cards are validated here only, so Python tools and the runtime agree on the schema.
  m.def(
      "validate_model_card",
      [](const std::string& json_text, const std::string& origin) {
        check(vas::parse_model_card(json_text, origin).status());
      },
      py::arg("json_text"), py::arg("origin") = "<memory>");
  m.def("decoder_types", &vas::decoder_type_names);
  m.def("status_name", [](int code) {
    return std::string(vas::status_code_name(static_cast<vas::StatusCode>(code)));
  });

  py::class_<vas::VideoInfo>(m, "VideoInfo")
      .def_readonly("width", &vas::VideoInfo::width)
      .def_readonly("height", &vas::VideoInfo::height)
      .def_readonly("fps", &vas::VideoInfo::fps)
      .def_readonly("frame_count", &vas::VideoInfo::frame_count)
      .def_readonly("codec", &vas::VideoInfo::codec);

  py::class_<PyDetector>(m, "Detector")
      .def(py::init<const std::string&, const std::string&>(), py::arg("model_path"),
           py::arg("options_json") = "")
      .def("detect", &PyDetector::detect, py::arg("image"), py::arg("format") = "BGR")
      .def("detect_batch", &PyDetector::detect_batch, py::arg("images"), py::arg("format") = "BGR")
      .def_property_readonly("engine_precision",
                             [](const PyDetector& d) { return d.engine().precision(); })
      .def_property_readonly("providers",
                             [](const PyDetector& d) { return d.engine().providers(); })
      .def_property_readonly("classes", [](const PyDetector& d) { return d.card().classes; })
      .def_property_readonly("name", [](const PyDetector& d) { return d.card().name; })
      .def_property_readonly("precision", [](const PyDetector& d) { return d.card().precision; })
      .def_property_readonly("backend", &PyDetector::backend)
      .def_property_readonly("input_size", &PyDetector::input_size);

  py::class_<PyVideoReader>(m, "VideoReader")
      .def(py::init<const std::string&, const std::string&, int, int>(), py::arg("url"),
           py::arg("format") = "BGR", py::arg("open_timeout_ms") = 5000,
           py::arg("read_timeout_ms") = 5000)
      .def("read", &PyVideoReader::read)
      .def("close", &PyVideoReader::close)
      .def("stats", &PyVideoReader::stats)
      .def_property_readonly("info", &PyVideoReader::info, py::return_value_policy::copy)
      .def_property_readonly("last_index", &PyVideoReader::last_index)
      .def_property_readonly("last_pts_us", &PyVideoReader::last_pts_us);

  py::class_<PyVideoWriter>(m, "VideoWriter")
      .def(py::init<const std::string&, int, int, double, const std::string&>(), py::arg("path"),
           py::arg("width"), py::arg("height"), py::arg("fps") = 25.0, py::arg("codec") = "")
      .def("write", &PyVideoWriter::write, py::arg("frame"), py::arg("format") = "BGR")
      .def("close", &PyVideoWriter::close);
}
