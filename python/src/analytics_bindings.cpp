// Bindings of csrc/select, csrc/associate, csrc/business and csrc/analytics:
// vasdk._core.BestShotSelector, Associator, RulesEngine and Analytics, plus the Laplacian
// kernel and JPEG encoder for tests and tools.
// Tracks cross as parallel numpy arrays; vasdk.analytics wraps them in dataclasses.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analytics/analytics.h"
#include "associate/associator.h"
#include "business/rules_engine.h"
#include "common.h"
#include "core/detection.h"
#include "select/best_shot.h"
#include "select/jpeg.h"
#include "select/quality.h"

namespace py = pybind11;

namespace {

using namespace vas_py;  // NOLINT(google-build-using-namespace)

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

void expect_shape(const py::array& a, ssize_t n, ssize_t inner, const char* name) {
  const bool ok = inner == 0 ? a.ndim() == 1 && a.shape(0) == n
                             : a.ndim() == 2 && a.shape(0) == n && a.shape(1) == inner;
  if (!ok) {
    throw_status(vas::invalid_argument(
        std::string("tracks: ") + name + " must have shape (" + std::to_string(n) +
        (inner ? ", " + std::to_string(inner) : std::string(",")) + ") to match ids"));
  }
}

// ids (N,) int64, boxes (N, 4), class_ids (N,), scores (N,), states (N,), time_since_update
// (N,), landmarks (N, 10) with NaN rows for boxes without landmarks.
void to_objects(const I64& ids, const F32& boxes, const I32& classes, const F32& scores,
                const I32& states, const I32& since, const F32& landmarks,
                std::vector<vas::TrackedObject>* out) {
  if (ids.ndim() != 1) throw_status(vas::invalid_argument("tracks: ids must be 1-D"));
  const ssize_t n = ids.shape(0);
  expect_shape(boxes, n, 4, "boxes");
  expect_shape(classes, n, 0, "class_ids");
  expect_shape(scores, n, 0, "scores");
  expect_shape(states, n, 0, "states");
  expect_shape(since, n, 0, "time_since_update");
  expect_shape(landmarks, n, 10, "landmarks");
  out->resize(static_cast<size_t>(n));
  for (ssize_t i = 0; i < n; ++i) {
    vas::TrackedObject& o = (*out)[i];
    o = vas::TrackedObject{};  // the vector is reused: no field may keep an earlier call's value
    const float* b = boxes.data(i, 0);
    if (!std::isfinite(b[0]) || !std::isfinite(b[1]) || !std::isfinite(b[2]) ||
        !std::isfinite(b[3]) || b[2] < b[0] || b[3] < b[1]) {
      throw_status(vas::invalid_argument("tracks: boxes[" + std::to_string(i) +
                                         "] must be finite with x2 >= x1 and y2 >= y1"));
    }
    const int st = states.data()[i];
    if (st < 0 || st > 3) {
      throw_status(vas::invalid_argument("tracks: states[" + std::to_string(i) + "] is " +
                                         std::to_string(st) + ", not 0..3"));
    }
    o.track_id = ids.data()[i];
    o.x1 = b[0], o.y1 = b[1], o.x2 = b[2], o.y2 = b[3];
    o.class_id = classes.data()[i];
    o.score = scores.data()[i];
    o.state = static_cast<vas::TrackState>(st);
    o.time_since_update = since.data()[i];
    const float* lm = landmarks.data(i, 0);
    o.num_landmarks = std::isfinite(lm[0]) ? 5 : 0;
    if (o.num_landmarks) std::memcpy(o.landmarks, lm, sizeof(o.landmarks));
  }
}

py::array_t<uint8_t> image_array(const vas::ImageView& v) {
  py::array_t<uint8_t> a({ssize_t{v.height}, ssize_t{v.width}, ssize_t{3}});
  const size_t row = static_cast<size_t>(v.width) * 3;
  for (int y = 0; y < v.height; ++y)
    std::memcpy(a.mutable_data() + y * row, v.planes[0] + static_cast<size_t>(y) * v.strides[0],
                row);
  return a;
}

// One tuple per crop: (track_id, shot_id, class_id, reason, rank, quality, terms (6,),
// box (4,), crop_xy, timestamp_us, frame_index, first_seen_us, last_seen_us, crop, jpeg).
void append_shots(const vas::BestShotRecord& r, py::list* out) {
  for (size_t k = 0; k < r.crops.size(); ++k) {
    const vas::BestShotCrop& c = r.crops[k];
    const vas::QualityTerms& q = c.quality;
    py::object jpeg =
        c.jpeg.empty()
            ? py::object(py::none())
            : py::object(py::bytes(reinterpret_cast<const char*>(c.jpeg.data()), c.jpeg.size()));
    out->append(py::make_tuple(
        r.track_id, c.shot_id, r.class_id, static_cast<int>(r.reason), static_cast<int>(k), q.total,
        py::make_tuple(q.detector, q.size, q.sharpness, q.truncation, q.aspect, q.frontal),
        py::make_tuple(c.x1, c.y1, c.x2, c.y2), py::make_tuple(c.crop_x, c.crop_y), c.timestamp_us,
        c.frame_index, r.first_seen_us, r.last_seen_us, image_array(c.image.view), jpeg));
  }
}

// (channel, rule_id, rule_type, kind, track_id, class_id, timestamp_us, start_us, count,
// best_shot_id).
py::tuple event_tuple(const vas::Event& e) {
  return py::make_tuple(e.channel, e.rule_id, e.rule_type, vas::event_kind_name(e.kind), e.track_id,
                        e.class_id, e.timestamp_us, e.start_us, e.count, e.best_shot_id);
}

class PyBestShotSelector {
 public:
  explicit PyBestShotSelector(const std::string& config_json) {
    impl_ = take(vas::BestShotSelector::create(take(vas::parse_best_shot_config(config_json))));
  }

  py::list update(const py::array& frame, const std::string& format, const I64& ids,
                  const F32& boxes, const I32& classes, const F32& scores, const I32& states,
                  const I32& since, const F32& landmarks, int64_t timestamp_us) {
    const vas::ImageView view = as_image(frame, parse_format(format));
    to_objects(ids, boxes, classes, scores, states, since, landmarks, &objects_);
    {
      py::gil_scoped_release release;
      check(impl_->update(view, objects_, timestamp_us));
    }
    return records();
  }

  py::list flush(int64_t timestamp_us) {
    check(impl_->flush(timestamp_us));
    return records();
  }

  int64_t current_best(int64_t track_id) const {
    int64_t id = -1;
    return impl_->current_best(track_id, &id, nullptr) ? id : -1;
  }

  const vas::BestShotSelector* get() const { return impl_.get(); }
  uint64_t dropped_crops() const { return impl_->dropped_crops(); }

 private:
  py::list records() const {
    py::list out;
    for (const vas::BestShotRecord& r : impl_->records()) append_shots(r, &out);
    return out;
  }

  std::unique_ptr<vas::BestShotSelector> impl_;
  std::vector<vas::TrackedObject> objects_;
};

class PyRulesEngine {
 public:
  explicit PyRulesEngine(const std::string& config_json) {
    impl_ = take(vas::RulesEngine::create(take(vas::parse_rules_config(config_json))));
  }

  py::list update(const I64& ids, const F32& boxes, const I32& classes, const F32& scores,
                  const I32& states, const I32& since, const F32& landmarks, int64_t timestamp_us,
                  const PyBestShotSelector* shots) {
    to_objects(ids, boxes, classes, scores, states, since, landmarks, &objects_);
    check(impl_->update(objects_, timestamp_us,
                        vas::best_shot_lookup(shots ? shots->get() : nullptr)));
    return events();
  }

  py::list flush(int64_t timestamp_us) {
    check(impl_->flush(timestamp_us));
    return events();
  }

  std::pair<int64_t, int64_t> line_counts(const std::string& rule_id) const {
    const vas::LineCounts c = take(impl_->line_counts(rule_id));
    return {c.in, c.out};
  }

 private:
  py::list events() const {
    py::list out;
    for (const vas::Event& e : impl_->events()) out.append(event_tuple(e));
    return out;
  }

  std::unique_ptr<vas::RulesEngine> impl_;
  std::vector<vas::TrackedObject> objects_;
};

class PyAssociator {
 public:
  explicit PyAssociator(const std::string& config_json)
      : impl_(take(vas::parse_associator_config(config_json))) {}

  I64 update(const I64& ids, const F32& boxes, const I32& classes, const F32& scores,
             const I32& states, const I32& since, const F32& landmarks) {
    to_objects(ids, boxes, classes, scores, states, since, landmarks, &objects_);
    impl_.update(&objects_);
    I64 parents(static_cast<ssize_t>(objects_.size()));
    for (size_t i = 0; i < objects_.size(); ++i)
      parents.mutable_data()[i] = objects_[i].parent_track_id;
    return parents;
  }

 private:
  vas::Associator impl_;
  std::vector<vas::TrackedObject> objects_;
};

// One channel's composed analytics (csrc/analytics). Each call returns (tracks, track_events,
// events, shots): tracks as (ids, boxes, scores, class_ids, info (N, 4): state, hits, age,
// time_since_update, parent_ids); track_events as (kind, track_id, class_id, timestamp_us,
// start_us) tuples; events and shots as the rules engine and the selector give them.
class PyAnalytics {
 public:
  explicit PyAnalytics(const std::string& config_json) {
    impl_ = take(vas::Analytics::create(take(vas::parse_analytics_config(config_json))));
  }

  py::tuple update(const py::object& frame, const std::string& format, const F32& boxes,
                   const F32& scores, const I32& classes, int64_t timestamp_us) {
    if (boxes.ndim() != 2 || boxes.shape(1) != 4)
      throw_status(vas::invalid_argument("analytics update: boxes must have shape (N, 4)"));
    const ssize_t n = boxes.shape(0);
    expect_shape(scores, n, 0, "scores");
    expect_shape(classes, n, 0, "class_ids");
    dets_.resize(static_cast<size_t>(n));
    for (ssize_t i = 0; i < n; ++i) {
      const float* b = boxes.data(i, 0);
      vas::Detection& d = dets_[i];
      d.x1 = b[0], d.y1 = b[1], d.x2 = b[2], d.y2 = b[3];
      d.score = scores.data()[i];
      d.class_id = classes.data()[i];
    }
    const std::optional<vas::ImageView> view = image_of(frame, format);
    {
      py::gil_scoped_release release;
      check(
          impl_->update(view ? &*view : nullptr, dets_.data(), dets_.size(), timestamp_us, &out_));
    }
    return output();
  }

  py::tuple predict(const py::object& frame, const std::string& format, int64_t timestamp_us) {
    const std::optional<vas::ImageView> view = image_of(frame, format);
    {
      py::gil_scoped_release release;
      check(impl_->predict(view ? &*view : nullptr, timestamp_us, &out_));
    }
    return output();
  }

  py::tuple flush(int64_t timestamp_us) {
    check(impl_->flush(timestamp_us, &out_));
    return output();
  }

  void update_rules(const std::string& rules_json) {
    check(impl_->update_rules(take(vas::parse_rules_config(rules_json))));
  }

  std::pair<int64_t, int64_t> line_counts(const std::string& rule_id) const {
    const vas::LineCounts c = take(impl_->line_counts(rule_id));
    return {c.in, c.out};
  }

 private:
  static std::optional<vas::ImageView> image_of(const py::object& frame,
                                                const std::string& format) {
    if (frame.is_none()) return std::nullopt;
    return as_image(frame.cast<py::array>(), parse_format(format));
  }

  py::tuple output() const {
    const std::vector<vas::TrackedObject>& t = out_.tracks;
    const auto n = static_cast<ssize_t>(t.size());
    py::array_t<int64_t> ids({n});
    py::array_t<float> boxes({n, ssize_t{4}});
    py::array_t<float> scores({n});
    py::array_t<int32_t> classes({n});
    py::array_t<int32_t> info({n, ssize_t{4}});
    py::array_t<int64_t> parents({n});
    for (ssize_t i = 0; i < n; ++i) {
      const vas::TrackedObject& o = t[i];
      ids.mutable_data()[i] = o.track_id;
      float* b = boxes.mutable_data(i, 0);
      b[0] = o.x1, b[1] = o.y1, b[2] = o.x2, b[3] = o.y2;
      scores.mutable_data()[i] = o.score;
      classes.mutable_data()[i] = o.class_id;
      int32_t* in = info.mutable_data(i, 0);
      in[0] = static_cast<int32_t>(o.state), in[1] = o.hits, in[2] = o.age;
      in[3] = o.time_since_update;
      parents.mutable_data()[i] = o.parent_track_id;
    }
    py::list track_events;
    for (const vas::TrackEvent& e : out_.track_events) {
      track_events.append(py::make_tuple(vas::track_event_kind_name(e.kind), e.track_id, e.class_id,
                                         e.timestamp_us, e.start_us));
    }
    py::list events;
    for (const vas::Event& e : out_.events) events.append(event_tuple(e));
    py::list shots;
    for (const vas::BestShotRecord* r : out_.best_shots) append_shots(*r, &shots);
    return py::make_tuple(py::make_tuple(ids, boxes, scores, classes, info, parents), track_events,
                          events, shots);
  }

  std::unique_ptr<vas::Analytics> impl_;
  std::vector<vas::Detection> dets_;
  vas::AnalyticsOutput out_;
};

}  // namespace

void init_analytics(py::module_& m) {
  py::class_<PyBestShotSelector>(m, "BestShotSelector")
      .def(py::init<const std::string&>(), py::arg("config_json") = "")
      .def("update", &PyBestShotSelector::update, py::arg("frame"), py::arg("format"),
           py::arg("ids"), py::arg("boxes"), py::arg("class_ids"), py::arg("scores"),
           py::arg("states"), py::arg("time_since_update"), py::arg("landmarks"),
           py::arg("timestamp_us"))
      .def("flush", &PyBestShotSelector::flush, py::arg("timestamp_us"))
      .def("current_best", &PyBestShotSelector::current_best, py::arg("track_id"))
      .def_property_readonly("dropped_crops", &PyBestShotSelector::dropped_crops);

  py::class_<PyRulesEngine>(m, "RulesEngine")
      .def(py::init<const std::string&>(), py::arg("config_json"))
      .def("update", &PyRulesEngine::update, py::arg("ids"), py::arg("boxes"), py::arg("class_ids"),
           py::arg("scores"), py::arg("states"), py::arg("time_since_update"), py::arg("landmarks"),
           py::arg("timestamp_us"), py::arg("shots") = nullptr)
      .def("flush", &PyRulesEngine::flush, py::arg("timestamp_us"))
      .def("line_counts", &PyRulesEngine::line_counts, py::arg("rule_id"));

  py::class_<PyAnalytics>(m, "Analytics")
      .def(py::init<const std::string&>(), py::arg("config_json"))
      .def("update", &PyAnalytics::update, py::arg("frame"), py::arg("format"), py::arg("boxes"),
           py::arg("scores"), py::arg("class_ids"), py::arg("timestamp_us"))
      .def("predict", &PyAnalytics::predict, py::arg("frame"), py::arg("format"),
           py::arg("timestamp_us"))
      .def("flush", &PyAnalytics::flush, py::arg("timestamp_us"))
      .def("update_rules", &PyAnalytics::update_rules, py::arg("rules_json"))
      .def("line_counts", &PyAnalytics::line_counts, py::arg("rule_id"));

  py::class_<PyAssociator>(m, "Associator")
      .def(py::init<const std::string&>(), py::arg("config_json") = "")
      .def("update", &PyAssociator::update, py::arg("ids"), py::arg("boxes"), py::arg("class_ids"),
           py::arg("scores"), py::arg("states"), py::arg("time_since_update"),
           py::arg("landmarks"));

  m.def(
      "laplacian_variance",
      [](const py::array_t<uint8_t, py::array::c_style | py::array::forcecast>& gray) {
        if (gray.ndim() != 2) throw_status(vas::invalid_argument("gray must be a 2-D uint8 array"));
        return vas::laplacian_variance(gray.data(), static_cast<int>(gray.shape(1)),
                                       static_cast<int>(gray.shape(0)),
                                       static_cast<int>(gray.shape(1)));
      },
      py::arg("gray"));
  m.def(
      "encode_jpeg",
      [](const py::array& bgr, int quality) {
        const vas::ImageView v = as_image(bgr, vas::PixelFormat::kBGR24);
        vas::Image img;
        vas::copy_crop_bgr(v, vas::Rect{0, 0, v.width, v.height}, &img);
        vas::JpegEncoder enc;
        std::vector<uint8_t> out;
        check(enc.encode(img.view(), quality, &out));
        return py::bytes(reinterpret_cast<const char*>(out.data()), out.size());
      },
      py::arg("bgr"), py::arg("quality") = 90);
}
