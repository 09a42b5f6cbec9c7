// Helpers shared by the binding files: status -> Python exception, numpy -> ImageView.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "core/image.h"
#include "core/status.h"

namespace vas_py {

namespace py = pybind11;

struct StatusError {
  vas::Status status;
};

[[noreturn]] inline void throw_status(const vas::Status& st) { throw StatusError{st}; }

// Sets the vasdk.errors exception for a status, for the modules' exception translators (each
// module registers one, and the last imported is tried first, so all must agree). Messages
// echo caller strings (paths) that need not be UTF-8, hence backslashreplace.
inline void set_python_error(const vas::Status& st) {
  py::object errors = py::module_::import("vasdk.errors");
  const std::string& msg = st.message();
  py::object text = py::reinterpret_steal<py::object>(
      PyUnicode_DecodeUTF8(msg.data(), static_cast<Py_ssize_t>(msg.size()), "backslashreplace"));
  if (!text) throw py::error_already_set();
  py::object exc = errors.attr("from_status")(static_cast<int>(st.code()), text);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
}

// Paths and URLs arrive as bytes or str; C would cut one at an embedded NUL, so refuse it.
inline const std::string& no_nul(const std::string& s, const char* what) {
  if (s.find('\0') != std::string::npos) {
    throw_status(vas::invalid_argument(std::string(what) + " contains a NUL byte"));
  }
  return s;
}

inline void check(const vas::Status& st) {
  if (!st.is_ok()) throw_status(st);
}

template <typename T>
T take(vas::Result<T>&& r) {
  if (!r.is_ok()) throw_status(r.status());
  return std::move(r).value();
}

inline vas::PixelFormat parse_format(const std::string& name) {
  if (name == "BGR" || name == "BGR24") return vas::PixelFormat::kBGR24;
  if (name == "RGB" || name == "RGB24") return vas::PixelFormat::kRGB24;
  if (name == "GRAY" || name == "GRAY8") return vas::PixelFormat::kGRAY8;
  if (name == "NV12") return vas::PixelFormat::kNV12;
  if (name == "NV21") return vas::PixelFormat::kNV21;
  if (name == "I420") return vas::PixelFormat::kI420;
  throw_status(vas::invalid_argument("unknown pixel format '" + name +
                                     "' (BGR, RGB, GRAY, NV12, NV21, I420)"));
}

// Borrows a uint8 numpy array as an image. Packed formats take (H, W, 3) or (H, W); YUV
// formats take the usual (H * 3 / 2, W) single-buffer layout. Rows may be strided.
inline vas::ImageView as_image(const py::array& arr, vas::PixelFormat format) {
  if (!py::isinstance<py::array_t<uint8_t>>(arr) || arr.dtype().kind() != 'u' ||
      arr.itemsize() != 1) {
    throw_status(vas::invalid_argument("image must be a uint8 numpy array, got dtype " +
                                       std::string(py::str(arr.dtype()))));
  }
  const auto nd = arr.ndim();
  const bool packed3 = format == vas::PixelFormat::kBGR24 || format == vas::PixelFormat::kRGB24;
  if (packed3 ? nd != 3 || arr.shape(2) != 3 : nd != 2) {
    throw_status(vas::invalid_argument(
        std::string("image for ") + vas::pixel_format_name(format) +
        (packed3 ? " must have shape (H, W, 3)" : " must have shape (rows, W)")));
  }
  if (arr.size() == 0) {
    throw_status(vas::invalid_argument("image: size must be positive, got an empty array"));
  }
  const ssize_t inner = packed3 ? 3 : 1;
  if ((packed3 && (arr.strides(2) != 1 || arr.strides(1) != 3)) ||
      (!packed3 && arr.strides(1) != 1) || arr.strides(0) < arr.shape(1) * inner) {
    throw_status(vas::invalid_argument("image rows must be contiguous (use np.ascontiguousarray)"));
  }
  vas::ImageView v;
  v.format = format;
  v.width = static_cast<int>(arr.shape(1));
  const auto* data = static_cast<const uint8_t*>(arr.data());
  const int stride = static_cast<int>(arr.strides(0));
  const int rows = static_cast<int>(arr.shape(0));
  v.planes[0] = data;
  v.strides[0] = stride;
  if (format == vas::PixelFormat::kNV12 || format == vas::PixelFormat::kNV21 ||
      format == vas::PixelFormat::kI420) {
    if (rows % 3 != 0) {
      throw_status(vas::invalid_argument("YUV 4:2:0 buffer needs H * 3 / 2 rows, got " +
                                         std::to_string(rows)));
    }
    v.height = rows * 2 / 3;
    v.planes[1] = data + static_cast<size_t>(stride) * v.height;
    v.strides[1] = stride;
    if (format == vas::PixelFormat::kI420) {
      // U then V, each (H/2) x (W/2) packed at half the luma stride.
      v.strides[1] = v.strides[2] = stride / 2;
      v.planes[2] = v.planes[1] + static_cast<size_t>(stride / 2) * (v.height / 2);
    }
  } else {
    v.height = rows;
  }
  return v;
}

}  // namespace vas_py
