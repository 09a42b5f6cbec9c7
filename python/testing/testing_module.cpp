// vasdk._testing: bindings that only tests and benchmarks use, kept out of the product module
// (vasdk._core) and out of wheels. Built with -DVASDK_BUILD_TEST_MODULE=ON, which
// scripts/setup.sh's editable install sets and pyproject.toml's wheel build does not.
//   SortKalman / XyahKalman  the trackers' motion models, stepped from Python (tests compare
//                            them with filterpy step by step); this is what needs Eigen here.
//   MemoryFloor              the memory floor of a preprocessing call (bench_preprocess.py).
//   SpanFloor                the same, reading only the byte spans a kernel's taps read.
//   evict                    flushes an array's cache lines (x86), for "cold" timings.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "common.h"
#include "core/thread_pool.h"
#include "track/kalman.h"

namespace py = pybind11;

namespace {

using namespace vas_py;  // NOLINT(google-build-using-namespace)

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

vas::BoxF to_box(const FloatArray& a) {
  if (a.size() != 4) throw_status(vas::invalid_argument("box must have 4 values x1 y1 x2 y2"));
  const float* p = a.data();
  return {p[0], p[1], p[2], p[3]};
}

template <typename M>
py::array_t<double> copy_matrix(const M& m) {
  py::array_t<double> out({static_cast<ssize_t>(m.rows()), static_cast<ssize_t>(m.cols())});
  auto r = out.mutable_unchecked<2>();
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) r(i, j) = m(i, j);
  }
  return out;
}

// One box filter of either motion model, stepped from Python.
template <typename Motion>
class PyKalman {
 public:
  explicit PyKalman(const FloatArray& box) { Motion::initiate(to_box(box), &state_); }
  void predict() { Motion::predict(&state_); }
  void update(const FloatArray& box) { Motion::update(to_box(box), &state_); }
  py::array_t<double> x() const { return copy_matrix(state_.x); }
  py::array_t<double> P() const { return copy_matrix(state_.P); }
  py::tuple box() const {
    const vas::BoxF b = Motion::box(state_);
    return py::make_tuple(b.x1, b.y1, b.x2, b.y2);
  }

 private:
  typename Motion::State state_;
};

template <typename Motion>
void bind_kalman(py::module_& m, const char* name) {
  py::class_<PyKalman<Motion>>(m, name)
      .def(py::init<const FloatArray&>(), py::arg("box"))
      .def("predict", &PyKalman<Motion>::predict)
      .def("update", &PyKalman<Motion>::update, py::arg("box"))
      .def_property_readonly("x", &PyKalman<Motion>::x)
      .def_property_readonly("P", &PyKalman<Motion>::P)
      .def_property_readonly("box", &PyKalman<Motion>::box);
}

// The memory floor of a preprocessing call, for benchmarks: read every byte of `src` once and
// write every byte of `dst` once (copy dst.nbytes from src, then OR the rest together),
// split into row-sized chunks over the same ThreadPool the Preprocessor uses, so the
// 2-thread figure includes the same hand-off and shows what the machine's memory allows.
// OR of n bytes: a reduction as cheap as the loads themselves (AVX2 where the CPU has it,
// as numpy's reductions do).
inline __attribute__((always_inline)) uint64_t or_words(const uint8_t* p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) acc |= p[i];
  return acc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2"))) uint64_t or_bytes_avx2(const uint8_t* p, size_t n) {
  return or_words(p, n);
}
#endif

uint64_t or_bytes(const uint8_t* p, size_t n) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return or_bytes_avx2(p, n);
#endif
  return or_words(p, n);
}

// Runs body(b, e) over [0, chunks) on `threads` threads (inline for 1), without the GIL.
class Chunks {
 public:
  explicit Chunks(int threads) {
    if (threads < 1 || threads > 64) {
      throw_status(vas::invalid_argument("threads must be 1..64, got " + std::to_string(threads)));
    }
    if (threads > 1) pool_ = std::make_unique<vas::ThreadPool>(threads);
  }
  template <typename Body>
  void run(int chunks, Body&& body) {
    py::gil_scoped_release release;
    if (pool_) {
      pool_->parallel_for(chunks, body);
    } else {
      body(0, chunks);
    }
  }

 private:
  std::unique_ptr<vas::ThreadPool> pool_;
};

class MemoryFloor {
 public:
  explicit MemoryFloor(int threads) : chunks_(threads) {}

  // Returns whether any byte past the copied part was non-zero (so the reads stay live).
  bool run(const py::array& src, py::array& dst) {
    if (!(src.flags() & py::array::c_style) || !(dst.flags() & py::array::c_style)) {
      throw_status(vas::invalid_argument("memory floor: src and dst must be C-contiguous"));
    }
    if (!dst.writeable()) throw_status(vas::invalid_argument("memory floor: dst is read-only"));
    const auto* s = static_cast<const uint8_t*>(src.data());
    auto* d = static_cast<uint8_t*>(dst.mutable_data());
    const size_t ns = src.nbytes(), nd = dst.nbytes();
    const size_t copy = std::min(ns, nd), rest = ns - copy;
    constexpr int kChunks = 64;
    std::atomic<uint64_t> seen{0};
    auto body = [&](int b, int e) {
      const size_t c0 = copy * b / kChunks, c1 = copy * e / kChunks;
      std::memcpy(d + c0, s + c0, c1 - c0);
      const size_t r0 = rest * b / kChunks, r1 = rest * e / kChunks;
      const uint64_t acc = or_bytes(s + copy + r0, r1 - r0);
      seen.fetch_or(acc, std::memory_order_relaxed);
    };
    chunks_.run(kChunks, body);
    return seen.load() != 0;
  }

 private:
  Chunks chunks_;
};

// The floor of a call that reads only some of its input: OR-reduces the given (offset,
// length) byte spans of src, the bytes a kernel's taps read, and writes every byte of dst.
// Spans and dst are cut into the same number of chunks, so 2 threads split both alike.
class SpanFloor {
 public:
  explicit SpanFloor(int threads) : chunks_(threads) {}

  bool run(const py::array& src, const py::array_t<int64_t, py::array::c_style>& spans,
           py::array& dst) {
    if (!(src.flags() & py::array::c_style) || !(dst.flags() & py::array::c_style)) {
      throw_status(vas::invalid_argument("span floor: src and dst must be C-contiguous"));
    }
    if (!dst.writeable()) throw_status(vas::invalid_argument("span floor: dst is read-only"));
    if (spans.ndim() != 2 || spans.shape(1) != 2) {
      throw_status(vas::invalid_argument("span floor: spans must be N x 2 (offset, length)"));
    }
    const auto* s = static_cast<const uint8_t*>(src.data());
    auto* d = static_cast<uint8_t*>(dst.mutable_data());
    const int64_t* sp = spans.data();
    const auto n = static_cast<size_t>(spans.shape(0));
    const auto ns = static_cast<int64_t>(src.nbytes());
    for (size_t i = 0; i < n; ++i) {
      if (sp[2 * i] < 0 || sp[2 * i + 1] < 0 || sp[2 * i] + sp[2 * i + 1] > ns) {
        throw_status(
            vas::invalid_argument("span floor: span " + std::to_string(i) + " is outside src"));
      }
    }
    const size_t nd = dst.nbytes();
    constexpr int kChunks = 64;
    std::atomic<uint64_t> seen{0};
    auto body = [&](int b, int e) {
      uint64_t acc = 0;
      for (size_t i = n * b / kChunks; i < n * e / kChunks; ++i) {
        acc |= or_bytes(s + sp[2 * i], static_cast<size_t>(sp[2 * i + 1]));
      }
      seen.fetch_or(acc, std::memory_order_relaxed);
      const size_t d0 = nd * b / kChunks, d1 = nd * e / kChunks;
      std::memset(d + d0, 0x3f, d1 - d0);
    };
    chunks_.run(kChunks, body);
    return seen.load() != 0;
  }

 private:
  Chunks chunks_;
};

// Writes back and drops every cache line of `a` from all cache levels, so that the next read
// comes from memory, as it does for a freshly decoded frame that no core has touched.
void evict(const py::buffer& a) {
#if defined(__x86_64__)
  const py::buffer_info info = a.request();
  if (info.size > 0 && info.strides.back() != info.itemsize) {
    throw_status(vas::invalid_argument("evict: the array must be C-contiguous"));
  }
  const auto* p = static_cast<const char*>(info.ptr);
  const auto bytes = static_cast<size_t>(info.size * info.itemsize);
  py::gil_scoped_release release;
  for (size_t i = 0; i < bytes; i += 64) _mm_clflush(p + i);
  if (bytes) _mm_clflush(p + bytes - 1);
  _mm_mfence();
#else
  (void)a;
  throw_status(vas::unsupported("evict: cache-line flushes are only implemented for x86-64"));
#endif
}

}  // namespace

PYBIND11_MODULE(_testing, m) {
  m.doc() = "vasdk test-only bindings (not shipped in wheels)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const vas_py::StatusError& e) {
      vas_py::set_python_error(e.status);
    }
  });
  bind_kalman<vas::SortMotion>(m, "SortKalman");
  bind_kalman<vas::XyahMotion>(m, "XyahKalman");
  py::class_<MemoryFloor>(m, "MemoryFloor")
      .def(py::init<int>(), py::arg("threads"))
      .def("run", &MemoryFloor::run, py::arg("src"), py::arg("dst"));
  py::class_<SpanFloor>(m, "SpanFloor")
      .def(py::init<int>(), py::arg("threads"))
      .def("run", &SpanFloor::run, py::arg("src"), py::arg("spans"), py::arg("dst"));
  m.def("evict", &evict, py::arg("array"),
        "Flushes the array's cache lines (x86-64); the next read comes from memory.");
}
