// The annotated video of one channel and its live view: made by the channel's worker after its
// callbacks, from the frame it just analysed, so they show exactly what the results and events
// said.
#include <algorithm>
#include <string>
#include <vector>

#include "pipeline/pipeline_impl.h"

namespace vas {
namespace {

// Rule points are any finite doubles; far-off ones are clamped (drawing clips them anyway) so
// the float conversion stays defined.
float to_px(double v) { return static_cast<float>(std::clamp(v, -1e6, 1e6)); }

AnnotationOverlay overlay_of(const RulesEngine* rules) {
  AnnotationOverlay ov;
  if (!rules) return ov;
  for (const RuleConfig& r : rules->config().rules) {
    std::vector<PointF> pts;
    for (const Point& p : r.shape) pts.push_back({to_px(p.x), to_px(p.y)});
    if (r.type == "line_crossing" && pts.size() == 2) {
      ov.lines.push_back({r.id, pts[0], pts[1]});
    } else if (pts.size() >= 3) {
      ov.zones.push_back({r.id, pts});
    }
  }
  return ov;
}

// One line per rule: crossing counts for lines, event counts for the others.
std::vector<std::string> hud_of(const Channel& ch, size_t objects) {
  std::vector<std::string> hud;
  hud.push_back(ch.cfg.id + "  frame " + std::to_string(ch.result.frame) + "  objects " +
                std::to_string(objects));
  const RulesEngine* rules = ch.analytics->rules();
  if (!rules) return hud;
  for (const RuleConfig& r : rules->config().rules) {
    if (r.type == "line_crossing") {
      auto c = ch.analytics->line_counts(r.id);
      if (c.is_ok()) {
        hud.push_back(r.id + " in " + std::to_string(c.value().in) + " out " +
                      std::to_string(c.value().out));
      }
      continue;
    }
    auto it = ch.rule_event_counts.find(r.id);
    hud.push_back(r.id + " (" + r.type + ") events " +
                  std::to_string(it == ch.rule_event_counts.end() ? 0 : it->second));
  }
  return hud;
}

std::vector<AnnotatedObject> objects_of(const FrameResult& result,
                                        const std::vector<std::string>& names) {
  std::vector<AnnotatedObject> objs;
  for (const ObjectResult& o : result.objects) {
    AnnotatedObject a;
    a.track_id = o.track_id;
    a.label = o.class_id >= 0 && static_cast<size_t>(o.class_id) < names.size()
                  ? names[o.class_id]
                  : std::to_string(o.class_id);
    std::copy(o.box, o.box + 4, a.box);
    objs.push_back(std::move(a));
  }
  return objs;
}

}  // namespace

void Pipeline::Impl::annotate(Channel& ch, const Slot& slot) {
  if (ch.live->wants_frame()) {
    LiveOverlay ov;
    ov.objects = objects_of(ch.result, detector_->class_names());
    ov.geometry = overlay_of(ch.analytics->rules());
    ov.hud = hud_of(ch, ov.objects.size());
    ov.frame = ch.result.frame;
    ov.capture_us = slot.frame.capture_us;
    ch.live->offer(slot.frame.view, std::move(ov));
  }
  if (ch.cfg.annotate_path.empty()) return;
  // A failure is reported once; the channel goes on without its annotated video.
  auto give_up = [&](const std::string& message) {
    PipelineEvent ev;
    ev.channel = ch.cfg.id;
    ev.kind = "error";
    ev.subkind = "annotate";
    ev.message = message;
    ch.annotated.reset();
    ch.cfg.annotate_path.clear();
    emit_event(ch, ev);
  };
  const ImageView& view = slot.frame.view;
  if (!ch.annotated) {
    AnnotatedVideoOptions o;
    o.trail_frames = ch.cfg.annotate_trail_frames;
    double fps = ch.cfg.annotate_fps;
    if (fps <= 0) {
      std::lock_guard<std::mutex> lock(ch.source_mu);
      fps = ch.source ? ch.source->fps() : 0;
    }
    o.fps = fps > 0 ? fps : 10;
    auto w = AnnotatedVideo::open(ch.cfg.annotate_path, view.width, view.height, o);
    if (!w.is_ok()) return give_up(w.status().message());
    ch.annotated = std::move(w).value();
  }
  const std::vector<AnnotatedObject> objs = objects_of(ch.result, detector_->class_names());
  const Status st =
      ch.annotated->write(view, objs, overlay_of(ch.analytics->rules()), hud_of(ch, objs.size()));
  if (!st.is_ok()) give_up(st.message());
}

Status Pipeline::Impl::live_watch(const std::string& id, bool on) {
  ChannelPtr ch = find(id);
  if (!ch) return not_found("live_watch: no channel '" + id + "'");
  return ch->live->watch(on).with_context("live_watch");
}

Result<LiveFrame> Pipeline::Impl::live_frame(const std::string& id, uint64_t after_seq,
                                             int timeout_ms) {
  if (timeout_ms < 0 || timeout_ms > 60000) {
    return invalid_argument("live_frame: timeout_ms must be in 0..60000, got " +
                            std::to_string(timeout_ms));
  }
  std::shared_ptr<LiveTap> tap;
  {
    ChannelPtr ch = find(id);
    if (!ch) return not_found("live_frame: no channel '" + id + "'");
    tap = ch->live;  // the wait below holds the tap only, not the channel
  }
  auto r = tap->next(after_seq, timeout_ms);
  if (!r.is_ok()) return r.status().with_context("live_frame");
  return r;
}

}  // namespace vas
