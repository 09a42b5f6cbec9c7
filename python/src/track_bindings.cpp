// Bindings of csrc/track: vasdk._core.Tracker. (The Kalman motion models, which the tests step
// against filterpy, are bound in the test-only module vasdk._testing.)
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "core/detection.h"
#include "track/tracker.h"

namespace py = pybind11;

namespace {

using namespace vas_py;  // NOLINT(google-build-using-namespace)

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

class PyTracker {
 public:
  explicit PyTracker(const std::string& config_json) {
    impl_ = take(vas::Tracker::create(config_json));
  }

  // boxes (N, 4) x1 y1 x2 y2, scores (N,), class_ids (N,) or None, embeddings (N, D) or None,
  // landmarks (N, 5, 2) or (N, 10) or None, NaN rows for detections without landmarks.
  py::tuple update(const FloatArray& boxes, const FloatArray& scores, const py::object& class_ids,
                   int64_t timestamp_us, const py::object& embeddings,
                   const py::object& landmarks) {
    if (boxes.ndim() != 2 || boxes.shape(1) != 4) {
      throw_status(vas::invalid_argument("tracker update: boxes must have shape (N, 4)"));
    }
    const ssize_t n = boxes.shape(0);
    if (scores.ndim() != 1 || scores.shape(0) != n) {
      throw_status(vas::invalid_argument("tracker update: scores must have shape (" +
                                         std::to_string(n) + ",) to match boxes"));
    }
    IntArray classes;
    if (!class_ids.is_none()) {
      classes = class_ids.cast<IntArray>();
      if (classes.ndim() != 1 || classes.shape(0) != n) {
        throw_status(vas::invalid_argument("tracker update: class_ids must have shape (" +
                                           std::to_string(n) + ",) to match boxes"));
      }
    }
    // Only built when given: a default-constructed array_t would allocate an empty numpy
    // array on every call of the IoU-only path.
    std::optional<FloatArray> emb_holder;
    const float* emb_data = nullptr;
    size_t dim = 0;
    if (!embeddings.is_none()) {
      const FloatArray& emb = emb_holder.emplace(embeddings.cast<FloatArray>());
      if (emb.ndim() != 2 || emb.shape(0) != n || emb.shape(1) < 1) {
        throw_status(vas::invalid_argument("tracker update: embeddings must have shape (" +
                                           std::to_string(n) + ", D) with D >= 1 to match boxes"));
      }
      dim = static_cast<size_t>(emb.shape(1));
      emb_data = emb.data();
    }
    std::optional<FloatArray> lm_holder;
    const float* lm = nullptr;
    if (!landmarks.is_none()) {
      const FloatArray& l = lm_holder.emplace(landmarks.cast<FloatArray>());
      const bool ok = (l.ndim() == 3 && l.shape(0) == n && l.shape(1) == 5 && l.shape(2) == 2) ||
                      (l.ndim() == 2 && l.shape(0) == n && l.shape(1) == 10);
      if (!ok) {
        throw_status(vas::invalid_argument("tracker update: landmarks must have shape (" +
                                           std::to_string(n) + ", 5, 2) to match boxes"));
      }
      lm = l.data();
    }
    dets_.resize(static_cast<size_t>(n));
    const float* b = boxes.data();
    const float* s = scores.data();
    const int32_t* c = class_ids.is_none() ? nullptr : classes.data();
    for (ssize_t i = 0; i < n; ++i) {
      vas::Detection& d = dets_[i];
      d.x1 = b[4 * i];
      d.y1 = b[4 * i + 1];
      d.x2 = b[4 * i + 2];
      d.y2 = b[4 * i + 3];
      d.score = s[i];
      d.class_id = c ? c[i] : 0;
      d.num_landmarks = 0;
      if (lm != nullptr && std::isfinite(lm[10 * i])) {
        d.num_landmarks = 5;
        std::memcpy(d.landmarks, lm + 10 * i, sizeof(d.landmarks));
      }
    }
    vas::Status st;
    {
      py::gil_scoped_release release;
      st = impl_->update(dets_.data(), dets_.size(), emb_data, dim, timestamp_us);
    }
    check(st);
    return result();
  }

  py::tuple predict(int64_t timestamp_us) {
    check(impl_->predict(timestamp_us));
    return result();
  }

  int64_t frame_count() const { return impl_->frame_count(); }
  size_t embedding_dim() const { return impl_->embedding_dim(); }

 private:
  // (ids int64 (N,), boxes float32 (N, 4), scores float32 (N,), class_ids int32 (N,),
  //  info int32 (N, 4): state, hits, age, time_since_update, landmarks float32 (N, 5, 2): the
  //  matched detection's, NaN when it had none or the track was not matched on this frame).
  py::tuple result() const {
    const std::vector<vas::TrackedObject>& t = impl_->tracks();
    const auto n = static_cast<ssize_t>(t.size());
    py::array_t<int64_t> ids({n});
    py::array_t<float> boxes({n, ssize_t{4}});
    py::array_t<float> scores({n});
    py::array_t<int32_t> classes({n});
    py::array_t<int32_t> info({n, ssize_t{4}});
    py::array_t<float> landmarks({n, ssize_t{5}, ssize_t{2}});
    float* pl = landmarks.mutable_data();
    int64_t* pi = ids.mutable_data();
    float* pb = boxes.mutable_data();
    float* ps = scores.mutable_data();
    int32_t* pc = classes.mutable_data();
    int32_t* pn = info.mutable_data();
    for (ssize_t i = 0; i < n; ++i) {
      const vas::TrackedObject& o = t[i];
      pi[i] = o.track_id;
      pb[4 * i] = o.x1;
      pb[4 * i + 1] = o.y1;
      pb[4 * i + 2] = o.x2;
      pb[4 * i + 3] = o.y2;
      ps[i] = o.score;
      pc[i] = o.class_id;
      pn[4 * i] = static_cast<int32_t>(o.state);
      pn[4 * i + 1] = o.hits;
      pn[4 * i + 2] = o.age;
      pn[4 * i + 3] = o.time_since_update;
      for (int k = 0; k < 10; ++k) {
        pl[10 * i + k] = o.num_landmarks > 0 ? o.landmarks[k] : std::nanf("");
      }
    }
    return py::make_tuple(ids, boxes, scores, classes, info, landmarks);
  }

  std::unique_ptr<vas::Tracker> impl_;
  std::vector<vas::Detection> dets_;
};

}  // namespace

void init_track(py::module_& m) {
  py::class_<PyTracker>(m, "Tracker")
      .def(py::init<const std::string&>(), py::arg("config_json") = "")
      .def("update", &PyTracker::update, py::arg("boxes"), py::arg("scores"),
           py::arg("class_ids") = py::none(), py::arg("timestamp_us") = 0,
           py::arg("embeddings") = py::none(), py::arg("landmarks") = py::none())
      .def("predict", &PyTracker::predict, py::arg("timestamp_us") = 0)
      .def_property_readonly("frame_count", &PyTracker::frame_count)
      .def_property_readonly("embedding_dim", &PyTracker::embedding_dim);
}
