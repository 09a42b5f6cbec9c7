// vasdk._core.Pipeline: the multi-channel pipeline. Every call that may wait on pipeline
// threads (start, stop, push, channel changes, close) releases the GIL, because those threads
// take the GIL to run Python callbacks; callbacks hold it only while Python code runs.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "common.h"
#include "pipeline/pipeline.h"

namespace py = pybind11;

namespace {

using namespace vas_py;  // NOLINT(google-build-using-namespace)

// Objects of one frame as numpy arrays (copies: the result is borrowed only for the call).
py::dict objects_dict(const std::vector<vas::ObjectResult>& objs) {
  const auto n = static_cast<ssize_t>(objs.size());
  py::array_t<int64_t> ids({n}), parents({n});
  py::array_t<float> boxes({n, ssize_t{4}}), scores({n}), landmarks({n, ssize_t{5}, ssize_t{2}});
  py::array_t<int32_t> classes({n}), nlm({n});
  for (ssize_t i = 0; i < n; ++i) {
    const vas::ObjectResult& o = objs[i];
    ids.mutable_data()[i] = o.track_id;
    parents.mutable_data()[i] = o.parent_track_id;
    std::memcpy(boxes.mutable_data() + 4 * i, o.box, sizeof(o.box));
    scores.mutable_data()[i] = o.score;
    classes.mutable_data()[i] = o.class_id;
    nlm.mutable_data()[i] = o.num_landmarks;
    float* lm = landmarks.mutable_data() + 10 * i;
    for (int k = 0; k < 10; ++k) {
      lm[k] = k < 2 * o.num_landmarks ? o.landmarks[k] : std::numeric_limits<float>::quiet_NaN();
    }
  }
  py::dict d;
  d["track_ids"] = ids;
  d["boxes"] = boxes;
  d["scores"] = scores;
  d["class_ids"] = classes;
  d["parent_track_ids"] = parents;
  d["landmarks"] = landmarks;
  return d;
}

py::dict result_dict(const vas::FrameResult& r) {
  py::dict d = objects_dict(r.objects);
  d["channel"] = r.channel;
  d["frame"] = r.frame;
  d["pts_us"] = r.pts_us;
  d["capture_us"] = r.capture_us;
  d["ts_us"] = r.ts_us;
  d["detected"] = r.detected;
  return d;
}

py::dict event_dict(const vas::PipelineEvent& e) {
  py::dict d;
  d["channel"] = e.channel;
  d["kind"] = e.kind;
  d["subkind"] = e.subkind;
  d["rule_id"] = e.rule_id;
  d["track_id"] = e.track_id;
  d["class_id"] = e.class_id;
  d["ts_us"] = e.ts_us;
  d["media_us"] = e.media_us;
  d["wall_us"] = e.wall_us;
  d["message"] = e.message;
  d["best_shot_id"] = e.best_shot_id;
  d["quality"] = e.quality;
  d["jpeg"] =
      e.jpeg.empty()
          ? py::object(py::none())
          : py::object(py::bytes(reinterpret_cast<const char*>(e.jpeg.data()), e.jpeg.size()));
  const vas::ImageView& v = e.crop.view;
  if (v.width > 0 && v.height > 0 && v.format == vas::PixelFormat::kBGR24) {
    py::array_t<uint8_t> crop(
        {static_cast<ssize_t>(v.height), static_cast<ssize_t>(v.width), ssize_t{3}});
    for (int y = 0; y < v.height; ++y) {
      std::memcpy(crop.mutable_data() + static_cast<size_t>(y) * v.width * 3,
                  v.planes[0] + static_cast<size_t>(y) * v.strides[0],
                  static_cast<size_t>(v.width) * 3);
    }
    d["crop"] = crop;
  } else {
    d["crop"] = py::none();
  }
  return d;
}

py::dict stage_dict(const vas::StageStats& s) {
  py::dict d;
  d["fps"] = s.fps;
  d["latency_p50_ms"] = s.latency_p50_ms;
  d["latency_p99_ms"] = s.latency_p99_ms;
  d["queue_depth"] = s.queue_depth;
  return d;
}

py::dict channel_dict(const vas::ChannelStats& c) {
  py::dict d;
  d["id"] = c.id;
  d["state"] = c.state;
  d["decoded"] = c.decoded;
  d["processed"] = c.processed;
  d["dropped"] = c.dropped;
  d["dropped_by_reason"] = c.dropped_by_reason;
  d["reconnects"] = c.reconnects;
  d["events"] = c.events;
  d["fps"] = c.fps;
  d["latency_p50_ms"] = c.latency_p50_ms;
  d["latency_p99_ms"] = c.latency_p99_ms;
  d["queue_depth"] = c.queue_depth;
  d["pool_in_use_bytes"] = c.pool_in_use_bytes;
  d["pool_reserved_bytes"] = c.pool_reserved_bytes;
  d["pool_capacity_bytes"] = c.pool_capacity_bytes;
  d["live_viewers"] = c.live_viewers;
  d["live_frames"] = c.live_frames;
  return d;
}

py::dict stats_dict(const vas::PipelineStats& st) {
  py::list channels;
  for (const vas::ChannelStats& c : st.channels) channels.append(channel_dict(c));
  py::dict d;
  d["channels"] = channels;
  d["decode"] = stage_dict(st.decode);
  d["inference"] = stage_dict(st.inference);
  d["analytics"] = stage_dict(st.analytics);
  const vas::CpuStats& c = st.cpu_ms_per_frame;
  py::dict cpu;
  cpu["frames"] = c.frames;
  cpu["decode"] = c.decode;
  cpu["preprocess"] = c.preprocess;
  cpu["inference"] = c.inference;
  cpu["postprocess"] = c.postprocess;
  cpu["analytics"] = c.analytics;
  cpu["delivery"] = c.delivery;
  cpu["annotate"] = c.annotate;
  cpu["other"] = c.other;
  cpu["process"] = c.process;
  d["cpu_ms_per_frame"] = cpu;
  d["inference_lanes"] = st.inference_lanes;
  d["inference_max_batch"] = st.inference_max_batch;
  d["inference_backend"] = st.inference_backend;
  d["inference_notes"] = st.inference_notes;
  d["batch_mean"] = st.batch_mean;
  d["batches"] = st.batches;
  py::list sinks;
  for (const vas::SinkStats& k : st.sinks) {
    py::dict s;
    s["name"] = k.name;
    s["type"] = k.type;
    s["connected"] = k.connected;
    s["queued"] = k.queued;
    s["delivered"] = k.delivered;
    s["failed"] = k.failed;
    s["dropped"] = k.dropped;
    s["dropped_by_reason"] = k.dropped_by_reason;
    s["redelivered"] = k.redelivered;
    s["reconnects"] = k.reconnects;
    s["outbox_depth"] = k.outbox_depth;
    s["in_flight"] = k.in_flight;
    s["last_error"] = k.last_error;
    sinks.append(s);
  }
  d["sinks"] = sinks;
  return d;
}

// A Python callable, called on pipeline threads. Exceptions that escape it are reported as
// unraisable (the pipeline thread cannot raise them anywhere); vasdk.Pipeline catches them
// itself and re-raises them on the caller's thread.
template <typename Arg, typename Convert>
std::function<void(const Arg&)> python_callback(py::object fn, Convert convert) {
  if (fn.is_none()) return {};
  // The std::function may be destroyed on a pipeline thread without the GIL: hold the
  // callable through a shared_ptr whose deleter takes the GIL.
  auto holder = std::shared_ptr<py::object>(new py::object(std::move(fn)), [](py::object* o) {
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      delete o;
    }
  });
  return [holder, convert](const Arg& a) {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    try {
      (*holder)(convert(a));
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("vasdk pipeline callback");
    }
  };
}

class PyPipeline {
 public:
  explicit PyPipeline(const std::string& config_json) {
    py::gil_scoped_release release;
    impl_ = take(vas::Pipeline::create(config_json));
  }

  void set_result_callback(py::object fn) {
    check(
        live()->set_result_callback(python_callback<vas::FrameResult>(std::move(fn), result_dict)));
  }
  void set_event_callback(py::object fn) {
    check(
        live()->set_event_callback(python_callback<vas::PipelineEvent>(std::move(fn), event_dict)));
  }

  void start() {
    vas::Pipeline* p = live();
    py::gil_scoped_release release;
    check(p->start());
  }
  void stop(bool drain) {
    vas::Pipeline* p = live();
    py::gil_scoped_release release;
    check(p->stop(drain));
  }
  void add_channel(const std::string& json) {
    vas::Pipeline* p = live();
    py::gil_scoped_release release;
    check(p->add_channel(json));
  }
  // The final counters; None when called from another channel's callback (the removal then
  // finishes later, and its "channel"/"removed" event carries them).
  py::object remove_channel(const std::string& id) {
    vas::Pipeline* p = live();
    vas::ChannelStats last;
    {
      py::gil_scoped_release release;
      check(p->remove_channel(id, &last));
    }
    if (last.id.empty()) return py::none();
    return channel_dict(last);
  }
  void update_rules(const std::string& id, const std::string& json) {
    vas::Pipeline* p = live();
    py::gil_scoped_release release;
    check(p->update_rules(id, json));
  }

  void live_watch(const std::string& id, bool on) {
    vas::Pipeline* p = live();
    py::gil_scoped_release release;
    check(p->live_watch(id, on));
  }

  // The newest JPEG newer than after_seq as a dict, or None when none came within timeout_ms.
  py::object live_frame(const std::string& id, uint64_t after_seq, int timeout_ms) {
    vas::Pipeline* p = live();
    vas::Result<vas::LiveFrame> r = vas::internal_error("live_frame did not run");
    {
      py::gil_scoped_release release;
      r = p->live_frame(id, after_seq, timeout_ms);
    }
    if (!r.is_ok() && r.status().code() == vas::StatusCode::kTimeout) return py::none();
    check(r.status());
    const vas::LiveFrame& f = r.value();
    py::dict d;
    d["jpeg"] = py::bytes(reinterpret_cast<const char*>(f.jpeg->data()), f.jpeg->size());
    d["seq"] = f.seq;
    d["frame"] = f.frame;
    d["capture_us"] = f.capture_us;
    d["width"] = f.width;
    d["height"] = f.height;
    return d;
  }

  // copy=false borrows the array's pixels until the pipeline is done with them: the array is
  // kept alive by a reference that is dropped (under the GIL) on release.
  void push(const std::string& channel, const py::array& frame, int64_t pts_us,
            const std::string& format, bool copy) {
    vas::Pipeline* p = live();
    const vas::ImageView view = as_image(frame, parse_format(format));
    std::function<void()> release;
    if (!copy) {
      auto* keep = new py::object(frame);
      release = [keep]() {
        if (!Py_IsInitialized()) return;
        py::gil_scoped_acquire gil;
        delete keep;
      };
    }
    py::gil_scoped_release unlocked;
    check(p->push_frame(channel, view, pts_us, std::move(release)));
  }

  py::dict stats() const {
    vas::PipelineStats st;
    {
      py::gil_scoped_release release;
      st = live()->stats();
    }
    return stats_dict(st);
  }

  bool in_callback_thread() const { return impl_ && impl_->in_callback_thread(); }

  // Stops without draining and frees everything; refused from the pipeline's own callbacks.
  void close() {
    if (!impl_) return;
    if (impl_->in_callback_thread()) {
      throw_status(vas::invalid_argument(
          "Pipeline.close() called from one of the pipeline's own callbacks; close it from "
          "another thread"));
    }
    std::unique_ptr<vas::Pipeline> p = std::move(impl_);
    py::gil_scoped_release release;
    p.reset();
  }

  ~PyPipeline() {
    if (impl_ && !impl_->in_callback_thread()) {
      py::gil_scoped_release release;
      impl_.reset();
    } else if (impl_) {
      // Dropped by the last reference inside a callback: hand it to the destructor, which the
      // pipeline guarantees does not deadlock there.
      impl_.reset();
    }
  }

 private:
  vas::Pipeline* live() const {
    if (!impl_) throw_status(vas::invalid_argument("the pipeline is closed"));
    return impl_.get();
  }

  std::unique_ptr<vas::Pipeline> impl_;
};

}  // namespace

void init_pipeline(py::module_& m) {
  py::class_<PyPipeline>(m, "Pipeline")
      .def(py::init<const std::string&>(), py::arg("config_json"))
      .def("set_result_callback", &PyPipeline::set_result_callback, py::arg("fn"))
      .def("set_event_callback", &PyPipeline::set_event_callback, py::arg("fn"))
      .def("start", &PyPipeline::start)
      .def("stop", &PyPipeline::stop, py::arg("drain") = true)
      .def("add_channel", &PyPipeline::add_channel, py::arg("channel_json"))
      .def("remove_channel", &PyPipeline::remove_channel, py::arg("channel_id"))
      .def("update_rules", &PyPipeline::update_rules, py::arg("channel_id"), py::arg("rules_json"))
      .def("push", &PyPipeline::push, py::arg("channel"), py::arg("frame"), py::arg("pts_us"),
           py::arg("format") = "BGR", py::arg("copy") = true)
      .def("live_watch", &PyPipeline::live_watch, py::arg("channel_id"), py::arg("on"))
      .def("live_frame", &PyPipeline::live_frame, py::arg("channel_id"), py::arg("after_seq"),
           py::arg("timeout_ms"))
      .def("stats", &PyPipeline::stats)
      .def("in_callback_thread", &PyPipeline::in_callback_thread)
      .def("close", &PyPipeline::close);
}
