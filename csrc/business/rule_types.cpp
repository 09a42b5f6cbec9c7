// The business-rule types: line crossing, intrusion, loitering and crowding, and the table that
// registers them by name. A new type is one section here and one line in the table.
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "business/rule_type.h"
#include "business/rules_config.h"
#include "business/rules_engine.h"
#include "business/zones.h"

namespace vas {
namespace {

// Zone rules keep a zone and test each object's anchor point against it.
Status check_zone(const RuleConfig& c, const std::string& where) {
  return validate_polygon(c.shape).with_context(where + ".polygon");
}

Status parse_zone(const RuleJson& j, RuleConfig* c) {
  VAS_RETURN_IF_ERROR(j.points("polygon", RuleJson::kRequired, &c->shape));
  return check_zone(*c, j.where());
}

// The parameters of a config as the type's own struct; null when they are missing or of another
// type (a config built in code).
template <typename T>
const T* params_of(const RuleConfig& c) {
  return dynamic_cast<const T*>(c.params.get());
}

Status wrong_params(const RuleConfig& c, const std::string& where) {
  return invalid_config(where + ": parameters missing or not those of a " + c.type + " rule");
}

// ---- line_crossing: counts crossings of a segment, in and out, with hysteresis ----------------

// "in" is a crossing from the right of the line's a->b direction to its left, as seen on
// screen; "out" the other way.
enum class CrossDirection : int { kBoth = 0, kIn = 1, kOut = 2 };

struct LineParams : RuleParams {
  double hysteresis = 5.0;  // pixels: a side counts only this far from the line
  CrossDirection direction = CrossDirection::kBoth;
};

class LineCrossing : public RuleEvaluator {
 public:
  LineCrossing(const RuleConfig& c, const LineParams& p)
      : a_(c.shape[0]), b_(c.shape[1]), anchor_(c.anchor), p_(p) {}

  void update(const std::vector<RuleInput>& objects, int64_t ts, RuleEvents* ev) override {
    for (const RuleInput& in : objects) {
      const TrackedObject& o = *in.object;
      State& st = tracks_[o.track_id];
      const Point p = anchor_point(o, anchor_);
      const double d = signed_distance(p, a_, b_);
      const int s = (d > 0 && d >= p_.hysteresis) ? 1 : (d < 0 && -d >= p_.hysteresis) ? -1 : 0;
      if (s == 0) continue;  // inside the hysteresis band: keep the last established side
      if (st.side != 0 && s != st.side && in.old_enough &&
          segments_intersect(st.last_point, p, a_, b_)) {
        const EventKind kind = st.side < 0 ? EventKind::kCrossIn : EventKind::kCrossOut;
        (kind == EventKind::kCrossIn ? counts_.in : counts_.out) += 1;
        if (p_.direction == CrossDirection::kBoth ||
            (p_.direction == CrossDirection::kIn) == (kind == EventKind::kCrossIn))
          ev->emit(kind, o.track_id, o.class_id, ts, ts, 0);
      }
      st.side = s;
      st.last_point = p;
    }
  }
  void leave(int64_t id, int, int64_t, RuleEvents*) override { tracks_.erase(id); }
  void flush(int64_t, RuleEvents*) override { tracks_.clear(); }  // counts stay
  const LineCounts* line_counts() const override { return &counts_; }

 private:
  struct State {
    int side = 0;  // -1 right, +1 left, 0 not yet established
    Point last_point;
  };
  Point a_, b_;
  Anchor anchor_;
  LineParams p_;
  LineCounts counts_;
  std::unordered_map<int64_t, State> tracks_;
};

Status check_line(const RuleConfig& c, const std::string& where) {
  if (c.shape.size() != 2)
    return invalid_config(where + ".line: needs exactly 2 points, got " +
                          std::to_string(c.shape.size()));
  if (c.shape[0].x == c.shape[1].x && c.shape[0].y == c.shape[1].y)
    return invalid_config(where + ".line: zero-length line");
  return Status::ok();
}

Status parse_line(const RuleJson& j, RuleConfig* c) {
  VAS_RETURN_IF_ERROR(j.points("line", RuleJson::kRequired, &c->shape));
  VAS_RETURN_IF_ERROR(check_line(*c, j.where()));
  auto p = std::make_shared<LineParams>();
  VAS_RETURN_IF_ERROR(j.number("hysteresis", RuleJson::kOptional, 0, false, &p->hysteresis));
  int dir = static_cast<int>(p->direction);
  VAS_RETURN_IF_ERROR(j.choice("direction", RuleJson::kOptional, {"both", "in", "out"}, &dir));
  p->direction = static_cast<CrossDirection>(dir);
  c->params = std::move(p);
  return Status::ok();
}

Result<std::unique_ptr<RuleEvaluator>> make_line(const RuleConfig& c, const std::string& where) {
  VAS_RETURN_IF_ERROR(check_line(c, where));
  const LineParams* p = params_of<LineParams>(c);
  if (!p) return wrong_params(c, where);
  return std::unique_ptr<RuleEvaluator>(new LineCrossing(c, *p));
}

// ---- intrusion: enter and exit events of a zone -----------------------------------------------

class Intrusion : public RuleEvaluator {
 public:
  explicit Intrusion(const RuleConfig& c) : zone_{c.id, c.shape, c.anchor} {}

  void update(const std::vector<RuleInput>& objects, int64_t ts, RuleEvents* ev) override {
    for (const RuleInput& in : objects) {
      const TrackedObject& o = *in.object;
      State& st = tracks_[o.track_id];
      const bool inside = in_zone(zone_, o);
      if (inside && !st.inside && in.old_enough) {
        st.inside = true;
        st.enter_us = ts;
        ev->emit(EventKind::kEnter, o.track_id, o.class_id, ts, ts, 0);
      } else if (!inside && st.inside) {
        st.inside = false;
        ev->emit(EventKind::kExit, o.track_id, o.class_id, ts, st.enter_us, 0);
      }
    }
  }
  void leave(int64_t id, int class_id, int64_t ts, RuleEvents* ev) override {
    auto it = tracks_.find(id);
    if (it == tracks_.end()) return;
    if (it->second.inside) ev->emit(EventKind::kExit, id, class_id, ts, it->second.enter_us, 0);
    tracks_.erase(it);
  }
  void flush(int64_t, RuleEvents*) override { tracks_.clear(); }

 private:
  struct State {
    bool inside = false;  // an enter event is open
    int64_t enter_us = -1;
  };
  Zone zone_;
  std::unordered_map<int64_t, State> tracks_;
};

Status parse_intrusion(const RuleJson& j, RuleConfig* c) { return parse_zone(j, c); }

Result<std::unique_ptr<RuleEvaluator>> make_intrusion(const RuleConfig& c,
                                                      const std::string& where) {
  VAS_RETURN_IF_ERROR(check_zone(c, where));
  return std::unique_ptr<RuleEvaluator>(new Intrusion(c));
}

// ---- loitering: a stay in a zone longer than dwell_s, absences up to gap_s forgiven -----------

struct LoiterParams : RuleParams {
  int64_t dwell_us = 0;
  int64_t gap_us = 0;  // absences up to this long do not restart the dwell
};

class Loitering : public RuleEvaluator {
 public:
  Loitering(const RuleConfig& c, const LoiterParams& p) : zone_{c.id, c.shape, c.anchor}, p_(p) {}

  void update(const std::vector<RuleInput>& objects, int64_t ts, RuleEvents* ev) override {
    for (const RuleInput& in : objects) {
      const TrackedObject& o = *in.object;
      State& st = tracks_[o.track_id];
      if (in_zone(zone_, o)) {
        if (st.enter_us < 0) st.enter_us = ts;
        st.last_inside_us = ts;
        if (!st.reported && in.old_enough && ts - st.enter_us >= p_.dwell_us) {
          st.reported = true;
          ev->emit(EventKind::kLoitering, o.track_id, o.class_id, ts, st.enter_us, 0);
        }
      } else if (st.enter_us >= 0 && ts - st.last_inside_us > p_.gap_us) {
        st = State{};
      }
    }
  }
  void leave(int64_t id, int, int64_t, RuleEvents*) override { tracks_.erase(id); }
  void flush(int64_t, RuleEvents*) override { tracks_.clear(); }

 private:
  struct State {
    int64_t enter_us = -1;  // when the current stay began
    int64_t last_inside_us = -1;
    bool reported = false;  // already reported for this stay
  };
  Zone zone_;
  LoiterParams p_;
  std::unordered_map<int64_t, State> tracks_;
};

Status parse_loitering(const RuleJson& j, RuleConfig* c) {
  VAS_RETURN_IF_ERROR(parse_zone(j, c));
  auto p = std::make_shared<LoiterParams>();
  VAS_RETURN_IF_ERROR(j.seconds("dwell_s", RuleJson::kRequired, true, &p->dwell_us));
  VAS_RETURN_IF_ERROR(j.seconds("gap_s", RuleJson::kOptional, false, &p->gap_us));
  c->params = std::move(p);
  return Status::ok();
}

Result<std::unique_ptr<RuleEvaluator>> make_loitering(const RuleConfig& c,
                                                      const std::string& where) {
  VAS_RETURN_IF_ERROR(check_zone(c, where));
  const LoiterParams* p = params_of<LoiterParams>(c);
  if (!p) return wrong_params(c, where);
  return std::unique_ptr<RuleEvaluator>(new Loitering(c, *p));
}

// ---- crowding: occupancy above max_count for at least duration_s ------------------------------

struct CrowdParams : RuleParams {
  int max_count = 0;
  int64_t duration_us = 0;
};

class Crowding : public RuleEvaluator {
 public:
  Crowding(const RuleConfig& c, const CrowdParams& p) : zone_{c.id, c.shape, c.anchor}, p_(p) {}

  void update(const std::vector<RuleInput>& objects, int64_t ts, RuleEvents* ev) override {
    int occupancy = 0;
    for (const RuleInput& in : objects) occupancy += in.old_enough && in_zone(zone_, *in.object);
    if (occupancy > p_.max_count) {
      if (over_since_ < 0) over_since_ = ts;
      if (!active_ && ts - over_since_ >= p_.duration_us) {
        active_ = true;
        ev->emit(EventKind::kCrowdingStart, -1, -1, ts, over_since_, occupancy);
      }
    } else {
      if (active_) ev->emit(EventKind::kCrowdingEnd, -1, -1, ts, over_since_, occupancy);
      over_since_ = -1;
      active_ = false;
    }
  }
  void leave(int64_t, int, int64_t, RuleEvents*) override {}
  void flush(int64_t ts, RuleEvents* ev) override {
    if (active_) ev->emit(EventKind::kCrowdingEnd, -1, -1, ts, over_since_, 0);
    over_since_ = -1;
    active_ = false;
  }

 private:
  Zone zone_;
  CrowdParams p_;
  int64_t over_since_ = -1;  // when the occupancy rose above max_count
  bool active_ = false;      // a crowding_start is open
};

Status parse_crowding(const RuleJson& j, RuleConfig* c) {
  VAS_RETURN_IF_ERROR(parse_zone(j, c));
  auto p = std::make_shared<CrowdParams>();
  VAS_RETURN_IF_ERROR(j.integer("max_count", RuleJson::kRequired, 0, &p->max_count));
  VAS_RETURN_IF_ERROR(j.seconds("duration_s", RuleJson::kOptional, false, &p->duration_us));
  c->params = std::move(p);
  return Status::ok();
}

Result<std::unique_ptr<RuleEvaluator>> make_crowding(const RuleConfig& c,
                                                     const std::string& where) {
  VAS_RETURN_IF_ERROR(check_zone(c, where));
  const CrowdParams* p = params_of<CrowdParams>(c);
  if (!p) return wrong_params(c, where);
  return std::unique_ptr<RuleEvaluator>(new Crowding(c, *p));
}

// Registered explicitly rather than by static initialisers, which a static link may drop.
// The order is the order of rule_type_names() in messages.
const std::vector<RuleTypeInfo>& table() {
  static const std::vector<RuleTypeInfo> types = {
      {"line_crossing", {"line", "hysteresis", "direction"}, &parse_line, &make_line},
      {"intrusion", {"polygon"}, &parse_intrusion, &make_intrusion},
      {"loitering", {"polygon", "dwell_s", "gap_s"}, &parse_loitering, &make_loitering},
      {"crowding", {"polygon", "max_count", "duration_s"}, &parse_crowding, &make_crowding},
  };
  return types;
}

}  // namespace

const RuleTypeInfo* find_rule_type(const std::string& name) {
  for (const RuleTypeInfo& t : table()) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

std::string rule_type_names() {
  std::string names;
  for (const RuleTypeInfo& t : table()) names += (names.empty() ? "" : ", ") + std::string(t.name);
  return names;
}

}  // namespace vas
