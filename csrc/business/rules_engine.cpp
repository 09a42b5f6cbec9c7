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

// Stamps an evaluator's events with what the engine knows: channel, rule and best shot.
class RulesEngine::Sink : public RuleEvents {
 public:
  // lookup may be null or hold no function: events then carry no best shot.
  Sink(RulesEngine* engine, const BestShotLookup* lookup) : engine_(engine), lookup_(lookup) {}
  void set_rule(int rule) { rule_ = rule; }

  void emit(EventKind kind, int64_t track, int class_id, int64_t ts, int64_t start,
            int count) override {
    const RuleConfig& r = engine_->config_.rules[rule_];
    Event e;
    e.channel = engine_->config_.channel.c_str();
    e.rule_id = r.id.c_str();
    e.rule_index = rule_;
    e.rule_type = engine_->types_[rule_]->name;
    e.kind = kind;
    e.track_id = track;
    e.class_id = class_id;
    e.timestamp_us = ts;
    e.start_us = start;
    e.count = count;
    if (lookup_ && *lookup_ && track >= 0) e.best_shot_id = (*lookup_)(track);
    engine_->events_.push_back(e);
  }

 private:
  RulesEngine* engine_;
  const BestShotLookup* lookup_;
  int rule_ = 0;
};

Result<std::unique_ptr<RulesEngine>> RulesEngine::create(const RulesConfig& config) {
  std::unique_ptr<RulesEngine> engine(new RulesEngine(config));
  for (size_t i = 0; i < config.rules.size(); ++i) {
    const RuleConfig& r = config.rules[i];
    const std::string where = "rules[" + std::to_string(i) + "]";
    const RuleTypeInfo* type = find_rule_type(r.type);
    if (!type) {
      return invalid_config(where + ".type: unknown rule type '" + r.type + "' (" +
                            rule_type_names() + ")");
    }
    auto rule = type->create(r, where);
    if (!rule.is_ok()) return rule.status();
    engine->rules_.push_back(std::move(rule).value());
    engine->types_.push_back(type);
  }
  return engine;
}

Status RulesEngine::reconfigure(const RulesConfig& config) {
  auto fresh = create(config);
  if (!fresh.is_ok()) return fresh.status();
  std::unique_ptr<RulesEngine> next = std::move(fresh).value();
  for (size_t i = 0; i < next->rules_.size(); ++i) {
    const std::string& source = next->config_.rules[i].source;
    if (source.empty()) continue;
    for (size_t j = 0; j < rules_.size(); ++j) {
      if (rules_[j] && config_.rules[j].source == source) {
        next->rules_[i] = std::move(rules_[j]);
        break;
      }
    }
  }
  config_ = std::move(next->config_);
  rules_ = std::move(next->rules_);
  types_ = std::move(next->types_);
  events_.clear();
  return Status::ok();
}

bool RulesEngine::applies(const RuleConfig& r, int class_id) const {
  return r.classes.empty() ||
         std::find(r.classes.begin(), r.classes.end(), class_id) != r.classes.end();
}

// The track leaves every rule, in rule order.
void RulesEngine::leave(int64_t id, const TrackInfo& t, int64_t ts, const BestShotLookup& lookup) {
  Sink sink(this, &lookup);
  for (size_t k = 0; k < rules_.size(); ++k) {
    sink.set_rule(static_cast<int>(k));
    rules_[k]->leave(id, t.class_id, ts, &sink);
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
  for (const TrackedObject& o : objects) {
    if (o.state == TrackState::kRemoved) {
      auto it = tracks_.find(o.track_id);
      if (it != tracks_.end()) {
        leave(it->first, it->second, ts, lookup);
        tracks_.erase(it);
      }
      continue;
    }
    if (config_.confirmed_only && o.state != TrackState::kConfirmed) continue;
    visible_.push_back(o);
    TrackInfo& t = tracks_[o.track_id];
    t.class_id = o.class_id;
    ++t.frames;
    t.last_seen_us = ts;
  }

  Sink sink(this, &lookup);
  for (size_t k = 0; k < rules_.size(); ++k) {
    const RuleConfig& r = config_.rules[k];
    inputs_.clear();
    for (const TrackedObject& o : visible_) {
      if (!applies(r, o.class_id)) continue;
      const int frames = tracks_[o.track_id].frames;
      inputs_.push_back({&o, frames, frames >= r.min_track_age});
    }
    sink.set_rule(static_cast<int>(k));
    rules_[k]->update(inputs_, ts, &sink);
  }

  gone_.clear();
  for (const auto& [id, t] : tracks_) {
    if (ts - t.last_seen_us > config_.forget_after_us) gone_.push_back(id);
  }
  std::sort(gone_.begin(), gone_.end());
  for (int64_t id : gone_) {
    auto it = tracks_.find(id);
    leave(id, it->second, ts, lookup);
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
  for (int64_t id : gone_) leave(id, tracks_[id], ts, nullptr);
  tracks_.clear();
  Sink sink(this, nullptr);  // flush() takes no lookup: its events carry no best shot
  for (size_t k = 0; k < rules_.size(); ++k) {
    sink.set_rule(static_cast<int>(k));
    rules_[k]->flush(ts, &sink);
  }
  return Status::ok();
}

LineCounts RulesEngine::line_counts(int rule_index) const {
  if (rule_index < 0 || static_cast<size_t>(rule_index) >= rules_.size()) return {};
  const LineCounts* c = rules_[rule_index]->line_counts();
  return c ? *c : LineCounts{};
}

Result<LineCounts> RulesEngine::line_counts(const std::string& rule_id) const {
  for (size_t i = 0; i < config_.rules.size(); ++i) {
    const RuleConfig& r = config_.rules[i];
    if (r.id != rule_id) continue;
    const LineCounts* c = rules_[i]->line_counts();
    if (!c)
      return invalid_argument("rule '" + rule_id + "' has type " + r.type + ", not line_crossing");
    return *c;
  }
  return not_found("no rule with id '" + rule_id + "'" +
                   (config_.channel.empty() ? "" : " in channel '" + config_.channel + "'"));
}

}  // namespace vas
