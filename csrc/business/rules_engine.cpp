#include "business/rules_engine.h"

#include <algorithm>

namespace vas {

const char* event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::kCrossIn:
      return "cross_in";
    case EventKind::kCrossOut:
      return "cross_out";
    case EventKind::kEnter:
      return "enter";
    case EventKind::kExit:
      return "exit";
    case EventKind::kLoitering:
      return "loitering";
    case EventKind::kCrowdingStart:
      return "crowding_start";
    case EventKind::kCrowdingEnd:
      return "crowding_end";
  }
  return "unknown";
}

RulesEngine::RulesEngine(const RulesConfig& config) : config_(config) {
  for (const RuleConfig& r : config_.rules) {
    if (r.type == RuleType::kLineCrossing) {
      zone_of_rule_.push_back(-1);
    } else {
      zone_of_rule_.push_back(static_cast<int>(zones_.size()));
      zones_.push_back(Zone{r.id, r.polygon, r.anchor});
    }
  }
  crowds_.resize(config_.rules.size());
  counts_.resize(config_.rules.size());
}

Result<std::unique_ptr<RulesEngine>> RulesEngine::create(const RulesConfig& config) {
  for (size_t i = 0; i < config.rules.size(); ++i) {
    const RuleConfig& r = config.rules[i];
    const std::string where = "rules[" + std::to_string(i) + "]";
    if (r.type == RuleType::kLineCrossing) {
      if (r.a.x == r.b.x && r.a.y == r.b.y)
        return invalid_config(where + ".line: zero-length line");
    } else {
      VAS_RETURN_IF_ERROR(validate_polygon(r.polygon).with_context(where + ".polygon"));
    }
  }
  return std::unique_ptr<RulesEngine>(new RulesEngine(config));
}

bool RulesEngine::applies(const RuleConfig& r, int class_id) const {
  return r.classes.empty() ||
         std::find(r.classes.begin(), r.classes.end(), class_id) != r.classes.end();
}

void RulesEngine::push(int rule, EventKind kind, int64_t track, int class_id, int64_t ts,
                       int64_t start, int count, const BestShotLookup& lookup) {
  Event e;
  e.channel = config_.channel.c_str();
  e.rule_id = config_.rules[rule].id.c_str();
  e.rule_index = rule;
  e.rule_type = config_.rules[rule].type;
  e.kind = kind;
  e.track_id = track;
  e.class_id = class_id;
  e.timestamp_us = ts;
  e.start_us = start;
  e.count = count;
  if (lookup && track >= 0) e.best_shot_id = lookup(track);
  events_.push_back(e);
}

void RulesEngine::leave(int64_t id, TrackInfo* t, int64_t ts, const BestShotLookup& lookup) {
  for (size_t k = 0; k < t->rules.size(); ++k) {
    PerRule& st = t->rules[k];
    if (config_.rules[k].type == RuleType::kIntrusion && st.inside) {
      push(static_cast<int>(k), EventKind::kExit, id, t->class_id, ts, st.enter_us, 0, lookup);
      st.inside = false;
    }
  }
}

Status RulesEngine::update(const std::vector<TrackedObject>& objects, int64_t ts,
                           const BestShotLookup& lookup) {
  if (ts < last_ts_) {
    return invalid_argument("rules of channel '" + config_.channel + "': timestamp " +
                            std::to_string(ts) + " us is before the previous one (" +
                            std::to_string(last_ts_) + " us)");
  }
  last_ts_ = ts;
  events_.clear();
  visible_.clear();
  const size_t n_rules = config_.rules.size();
  for (const TrackedObject& o : objects) {
    if (o.state == TrackState::kRemoved) {
      auto it = tracks_.find(o.track_id);
      if (it != tracks_.end()) {
        leave(it->first, &it->second, ts, lookup);
        tracks_.erase(it);
      }
      continue;
    }
    if (config_.confirmed_only && o.state != TrackState::kConfirmed) continue;
    visible_.push_back(o);
    TrackInfo& t = tracks_[o.track_id];
    if (t.rules.empty()) t.rules.resize(n_rules);
    t.class_id = o.class_id;
    ++t.frames;
    t.last_seen_us = ts;
  }
  assign_zones(visible_, zones_, &in_zones_);

  for (size_t k = 0; k < n_rules; ++k) {
    const RuleConfig& r = config_.rules[k];
    const int rule = static_cast<int>(k);
    const int zone = zone_of_rule_[k];
    int occupancy = 0;
    for (size_t i = 0; i < visible_.size(); ++i) {
      const TrackedObject& o = visible_[i];
      if (!applies(r, o.class_id)) continue;
      TrackInfo& t = tracks_[o.track_id];
      PerRule& st = t.rules[k];
      const bool old_enough = t.frames >= r.min_track_age;
      if (r.type == RuleType::kLineCrossing) {
        const Point p = anchor_point(o, r.anchor);
        const double d = signed_distance(p, r.a, r.b);
        const int s = (d > 0 && d >= r.hysteresis) ? 1 : (d < 0 && -d >= r.hysteresis) ? -1 : 0;
        if (s == 0) continue;  // inside the hysteresis band: keep the last established side
        if (st.side != 0 && s != st.side && old_enough &&
            segments_intersect(st.last_point, p, r.a, r.b)) {
          const EventKind kind = st.side < 0 ? EventKind::kCrossIn : EventKind::kCrossOut;
          (kind == EventKind::kCrossIn ? counts_[k].in : counts_[k].out) += 1;
          if (r.direction == CrossDirection::kBoth ||
              (r.direction == CrossDirection::kIn) == (kind == EventKind::kCrossIn))
            push(rule, kind, o.track_id, o.class_id, ts, ts, 0, lookup);
        }
        st.side = s;
        st.last_point = p;
        continue;
      }
      const bool inside =
          std::find(in_zones_[i].begin(), in_zones_[i].end(), zone) != in_zones_[i].end();
      if (r.type == RuleType::kIntrusion) {
        if (inside && !st.inside && old_enough) {
          st.inside = true;
          st.enter_us = ts;
          push(rule, EventKind::kEnter, o.track_id, o.class_id, ts, ts, 0, lookup);
        } else if (!inside && st.inside) {
          st.inside = false;
          push(rule, EventKind::kExit, o.track_id, o.class_id, ts, st.enter_us, 0, lookup);
        }
      } else if (r.type == RuleType::kLoitering) {
        if (inside) {
          if (st.enter_us < 0) st.enter_us = ts;
          st.last_inside_us = ts;
          if (!st.reported && old_enough && ts - st.enter_us >= r.dwell_us) {
            st.reported = true;
            push(rule, EventKind::kLoitering, o.track_id, o.class_id, ts, st.enter_us, 0, lookup);
          }
        } else if (st.enter_us >= 0 && ts - st.last_inside_us > r.gap_us) {
          st.enter_us = -1;
          st.reported = false;
        }
      } else if (inside && old_enough) {
        ++occupancy;
      }
    }
    if (r.type == RuleType::kCrowding) {
      Crowd& c = crowds_[k];
      if (occupancy > r.max_count) {
        if (c.over_since < 0) c.over_since = ts;
        if (!c.active && ts - c.over_since >= r.duration_us) {
          c.active = true;
          push(rule, EventKind::kCrowdingStart, -1, -1, ts, c.over_since, occupancy, lookup);
        }
      } else {
        if (c.active)
          push(rule, EventKind::kCrowdingEnd, -1, -1, ts, c.over_since, occupancy, lookup);
        c = Crowd{};
      }
    }
  }

  gone_.clear();
  for (const auto& [id, t] : tracks_) {
    if (ts - t.last_seen_us > config_.forget_after_us) gone_.push_back(id);
  }
  std::sort(gone_.begin(), gone_.end());
  for (int64_t id : gone_) {
    auto it = tracks_.find(id);
    leave(id, &it->second, ts, lookup);
    tracks_.erase(it);
  }
  return Status::ok();
}

Status RulesEngine::flush(int64_t ts) {
  if (ts < last_ts_) {
    return invalid_argument("rules of channel '" + config_.channel + "': flush timestamp " +
                            std::to_string(ts) + " us is before the last update");
  }
  last_ts_ = ts;
  events_.clear();
  gone_.clear();
  for (const auto& [id, t] : tracks_) gone_.push_back(id);
  std::sort(gone_.begin(), gone_.end());
  for (int64_t id : gone_) leave(id, &tracks_[id], ts, nullptr);
  tracks_.clear();
  for (size_t k = 0; k < crowds_.size(); ++k) {
    if (crowds_[k].active)
      push(static_cast<int>(k), EventKind::kCrowdingEnd, -1, -1, ts, crowds_[k].over_since, 0,
           nullptr);
    crowds_[k] = Crowd{};
  }
  return Status::ok();
}

LineCounts RulesEngine::line_counts(int rule_index) const {
  if (rule_index < 0 || static_cast<size_t>(rule_index) >= counts_.size()) return {};
  return counts_[rule_index];
}

Result<LineCounts> RulesEngine::line_counts(const std::string& rule_id) const {
  for (size_t i = 0; i < config_.rules.size(); ++i) {
    const RuleConfig& r = config_.rules[i];
    if (r.id != rule_id) continue;
    if (r.type != RuleType::kLineCrossing) {
      return invalid_argument("rule '" + rule_id + "' is a " + rule_type_name(r.type) +
                              " rule, not line_crossing");
    }
    return counts_[i];
  }
  return not_found("no rule with id '" + rule_id + "'" +
                   (config_.channel.empty() ? "" : " in channel '" + config_.channel + "'"));
}

}  // namespace vas
