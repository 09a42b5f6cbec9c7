#include "analytics/analytics.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/config_reader.h"

namespace vas {
namespace {

using json = nlohmann::json;

// Runs a module's parser on one member and prefixes its errors with the member's name.
template <typename T, typename Parse>
Status parse_member(const json& v, const char* name, Parse parse, T* out) {
  if (!v.is_object()) {
    return invalid_config(std::string(name) + ": must be a JSON object, got " +
                          config_value_text(v));
  }
  Result<T> r = parse(v.dump());
  if (!r.is_ok()) return r.status().with_context(name);
  *out = std::move(r).value();
  return Status::ok();
}

Status check_rules_channel(const std::string& channel, RulesConfig* rules) {
  if (rules->channel.empty()) {
    rules->channel = channel;
  } else if (rules->channel != channel) {
    return invalid_config("rules.channel: '" + rules->channel + "' differs from the channel '" +
                          channel + "'");
  }
  return Status::ok();
}

}  // namespace

const char* track_event_kind_name(TrackEventKind kind) {
  switch (kind) {
    case TrackEventKind::kStart:
      return "track_start";
    case TrackEventKind::kEnd:
      return "track_end";
  }
  return "unknown";
}

const char* track_end_reason_name(TrackEndReason reason) {
  switch (reason) {
    case TrackEndReason::kNone:
      return "";
    case TrackEndReason::kRemoved:
      return "removed";
    case TrackEndReason::kFlush:
      return "flush";
    case TrackEndReason::kSourceGap:
      return "source_gap";
  }
  return "";
}

void AnalyticsOutput::clear() {
  tracks.clear();
  track_events.clear();
  events.clear();
  best_shots.clear();
}

Result<AnalyticsConfig> parse_analytics_config(const std::string& text) {
  VAS_ASSIGN_OR_RETURN(json j, parse_config_json(text, "analytics config"));
  if (!j.is_object()) return invalid_config("analytics config must be a JSON object");
  AnalyticsConfig c;
  bool have_channel = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "channel") {
      if (!v.is_string() || v.get<std::string>().empty())
        return invalid_config("channel: must be a non-empty string, got " + config_value_text(v));
      c.channel = v.get<std::string>();
      have_channel = true;
    } else if (k == "tracker") {
      VAS_RETURN_IF_ERROR(parse_member(v, "tracker", parse_tracker_config, &c.tracker));
    } else if (k == "best_shot") {
      BestShotConfig b;
      VAS_RETURN_IF_ERROR(parse_member(v, "best_shot", parse_best_shot_config, &b));
      c.best_shot = std::move(b);
    } else if (k == "associator") {
      AssociatorConfig a;
      VAS_RETURN_IF_ERROR(parse_member(v, "associator", parse_associator_config, &a));
      c.associator = a;
    } else if (k == "rules") {
      RulesConfig r;
      VAS_RETURN_IF_ERROR(parse_member(v, "rules", parse_rules_config, &r));
      c.rules = std::move(r);
    } else {
      return invalid_config(k + ": unknown field");
    }
  }
  if (!have_channel) return invalid_config("channel: missing");
  if (c.rules) VAS_RETURN_IF_ERROR(check_rules_channel(c.channel, &*c.rules));
  return c;
}

Result<std::unique_ptr<Analytics>> Analytics::create(const AnalyticsConfig& config) {
  const std::string where = "analytics of channel '" + config.channel + "'";
  std::unique_ptr<Analytics> a(new Analytics(config));
  auto tracker = Tracker::create(config.tracker);
  if (!tracker.is_ok()) return tracker.status().with_context(where + ": tracker");
  a->tracker_ = std::move(tracker).value();
  if (config.associator) a->associator_ = std::make_unique<Associator>(*config.associator);
  if (config.best_shot) {
    auto sel = BestShotSelector::create(*config.best_shot);
    if (!sel.is_ok()) return sel.status().with_context(where + ": best_shot");
    a->selector_ = std::move(sel).value();
  }
  if (config.rules) {
    VAS_RETURN_IF_ERROR(check_rules_channel(config.channel, &*a->config_.rules));
    auto rules = RulesEngine::create(*a->config_.rules);
    if (!rules.is_ok()) return rules.status().with_context(where + ": rules");
    a->rules_ = std::move(rules).value();
  }
  return a;
}

Status Analytics::fail(const Status& status, AnalyticsOutput* out) const {
  out->clear();
  return status.with_context("analytics of channel '" + config_.channel + "'");
}

Status Analytics::update(const ImageView* frame, const Detection* dets, size_t n,
                         int64_t timestamp_us, AnalyticsOutput* out) {
  return update(frame, dets, n, nullptr, 0, timestamp_us, out);
}

Status Analytics::update(const ImageView* frame, const Detection* dets, size_t n,
                         const float* embeddings, size_t dim, int64_t timestamp_us,
                         AnalyticsOutput* out) {
  VAS_RETURN_IF_ERROR(begin(frame, out));
  Status st = dim == 0 ? tracker_->update(dets, n, timestamp_us)
                       : tracker_->update(dets, n, embeddings, dim, timestamp_us);
  if (!st.is_ok()) return fail(st, out);
  return downstream(frame, timestamp_us, out);
}

Status Analytics::predict(const ImageView* frame, int64_t timestamp_us, AnalyticsOutput* out) {
  VAS_RETURN_IF_ERROR(begin(frame, out));
  Status st = tracker_->predict(timestamp_us);
  if (!st.is_ok()) return fail(st, out);
  return downstream(frame, timestamp_us, out);
}

// Checks what can be checked before any module changes state.
Status Analytics::begin(const ImageView* frame, AnalyticsOutput* out) const {
  if (!out) return invalid_argument("analytics of channel '" + config_.channel + "': out is null");
  out->clear();
  if (frame) {
    Status st = frame->validate();
    if (!st.is_ok()) return fail(st.with_context("frame"), out);
  }
  return Status::ok();
}

Status Analytics::downstream(const ImageView* frame, int64_t ts, AnalyticsOutput* out) {
  out->tracks = tracker_->tracks();
  // Track events first: they follow the tracker alone, so a later module's error cannot make
  // a start or an end go missing from started_.
  for (const TrackedObject& o : out->tracks) {
    if (o.state == TrackState::kRemoved) {
      auto it = started_.find(o.track_id);
      if (it == started_.end()) continue;
      out->track_events.push_back({TrackEventKind::kEnd, o.track_id, o.class_id, ts,
                                   it->second.start_us, TrackEndReason::kRemoved});
      started_.erase(it);
      continue;
    }
    auto it = started_.find(o.track_id);
    if (it != started_.end()) {
      it->second.class_id = o.class_id;
    } else if (o.state == TrackState::kConfirmed) {
      started_.emplace(o.track_id, Started{ts, o.class_id});
      out->track_events.push_back({TrackEventKind::kStart, o.track_id, o.class_id, ts, ts});
    }
  }
  // Tracks come ordered by id: starts, then ends, each in id order.
  std::stable_partition(out->track_events.begin(), out->track_events.end(),
                        [](const TrackEvent& e) { return e.kind == TrackEventKind::kStart; });
  if (associator_) associator_->update(&out->tracks);
  if (selector_) {
    Status st = selector_->update(frame, out->tracks, ts);
    if (!st.is_ok()) return fail(st, out);
    for (const BestShotRecord& r : selector_->records()) out->best_shots.push_back(&r);
  }
  if (rules_) {
    Status st = rules_->update(out->tracks, ts, best_shot_lookup(selector_.get()));
    if (!st.is_ok()) return fail(st, out);
    out->events = rules_->events();
  }
  return Status::ok();
}

Status Analytics::flush(int64_t ts, AnalyticsOutput* out) {
  return end_all(ts, TrackEndReason::kFlush, out);
}

Status Analytics::end_tracks(int64_t ts, AnalyticsOutput* out) {
  VAS_RETURN_IF_ERROR(end_all(ts, TrackEndReason::kSourceGap, out));
  tracker_->clear_tracks();
  return Status::ok();
}

Status Analytics::end_all(int64_t ts, TrackEndReason reason, AnalyticsOutput* out) {
  VAS_RETURN_IF_ERROR(begin(nullptr, out));
  if (selector_) {
    Status st = selector_->flush(ts);
    if (!st.is_ok()) return fail(st, out);
    for (const BestShotRecord& r : selector_->records()) out->best_shots.push_back(&r);
  }
  if (rules_) {
    Status st = rules_->flush(ts);
    if (!st.is_ok()) return fail(st, out);
    out->events = rules_->events();
  }
  std::vector<int64_t> ids;
  ids.reserve(started_.size());
  for (const auto& entry : started_) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  for (int64_t id : ids) {
    const Started& s = started_[id];
    out->track_events.push_back({TrackEventKind::kEnd, id, s.class_id, ts, s.start_us, reason});
  }
  started_.clear();
  return Status::ok();
}

Status Analytics::update_rules(const RulesConfig& rules) {
  RulesConfig copy = rules;
  Status st = check_rules_channel(config_.channel, &copy);
  if (!st.is_ok()) return st.with_context("analytics of channel '" + config_.channel + "'");
  if (rules_) {
    st = rules_->reconfigure(copy);
  } else {
    auto engine = RulesEngine::create(copy);
    st = engine.status();
    if (engine.is_ok()) rules_ = std::move(engine).value();
  }
  if (!st.is_ok()) return st.with_context("analytics of channel '" + config_.channel + "': rules");
  config_.rules = std::move(copy);
  return Status::ok();
}

Result<LineCounts> Analytics::line_counts(const std::string& rule_id) const {
  if (!rules_) {
    return not_found("no rule with id '" + rule_id + "': channel '" + config_.channel +
                     "' has no rules");
  }
  return rules_->line_counts(rule_id);
}

}  // namespace vas
