#include "business/rules_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

namespace vas {
namespace {

using json = nlohmann::json;

Status number(const json& v, const std::string& f, double lo, bool lo_open, double* out) {
  if (!v.is_number()) return invalid_config(f + ": must be a number, got " + v.dump());
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || (lo_open && d == lo))
    return invalid_config(f + ": must be " + (lo_open ? "> " : ">= ") + std::to_string(lo) +
                          ", got " + v.dump());
  *out = d;
  return Status::ok();
}

Status integer(const json& v, const std::string& f, int lo, int* out) {
  if (!v.is_number_integer()) return invalid_config(f + ": must be an integer, got " + v.dump());
  const int64_t n = v.get<int64_t>();
  if (n < lo || n > (1 << 30))
    return invalid_config(f + ": must be >= " + std::to_string(lo) + ", got " + v.dump());
  *out = static_cast<int>(n);
  return Status::ok();
}

Status points(const json& v, const std::string& f, std::vector<Point>* out) {
  if (!v.is_array()) return invalid_config(f + ": must be a list of [x, y] points");
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const json& p = v[i];
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
      return invalid_config(f + "[" + std::to_string(i) + "]: must be [x, y], got " + p.dump());
    out->push_back({p[0].get<double>(), p[1].get<double>()});
    if (!std::isfinite(out->back().x) || !std::isfinite(out->back().y))
      return invalid_config(f + "[" + std::to_string(i) + "]: not finite");
  }
  return Status::ok();
}

Result<RuleType> parse_type(const json& v, const std::string& f) {
  if (!v.is_string()) return invalid_config(f + ": must be a string");
  const std::string s = v.get<std::string>();
  if (s == "line_crossing") return RuleType::kLineCrossing;
  if (s == "intrusion") return RuleType::kIntrusion;
  if (s == "loitering") return RuleType::kLoitering;
  if (s == "crowding") return RuleType::kCrowding;
  return invalid_config(f + ": unknown rule type '" + s +
                        "' (line_crossing, intrusion, loitering, crowding)");
}

Status parse_rule(const json& j, const std::string& where, RuleConfig* r) {
  if (!j.is_object()) return invalid_config(where + ": must be an object");
  auto tit = j.find("type");
  if (tit == j.end()) return invalid_config(where + ".type: missing");
  VAS_ASSIGN_OR_RETURN(r->type, parse_type(*tit, where + ".type"));
  const bool line = r->type == RuleType::kLineCrossing;
  std::set<std::string> allowed = {"id", "type", "classes", "anchor", "min_track_age"};
  if (line) {
    allowed.insert({"line", "hysteresis", "direction"});
  } else {
    allowed.insert("polygon");
    if (r->type == RuleType::kLoitering) allowed.insert({"dwell_s", "gap_s"});
    if (r->type == RuleType::kCrowding) allowed.insert({"max_count", "duration_s"});
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!allowed.count(it.key()))
      return invalid_config(where + "." + it.key() + ": unknown field for rule type '" +
                            rule_type_name(r->type) + "'");
  }
  auto req = [&](const char* k) -> Result<const json*> {
    auto it = j.find(k);
    if (it == j.end()) return invalid_config(where + "." + k + ": missing");
    return &*it;
  };
  const json* idv = nullptr;
  VAS_ASSIGN_OR_RETURN(idv, req("id"));
  if (!idv->is_string() || idv->get<std::string>().empty())
    return invalid_config(where + ".id: must be a non-empty string");
  r->id = idv->get<std::string>();
  if (auto it = j.find("classes"); it != j.end()) {
    if (!it->is_array()) return invalid_config(where + ".classes: must be a list of class ids");
    for (size_t i = 0; i < it->size(); ++i) {
      int c = 0;
      VAS_RETURN_IF_ERROR(integer((*it)[i], where + ".classes[" + std::to_string(i) + "]", 0, &c));
      r->classes.push_back(c);
    }
  }
  if (auto it = j.find("anchor"); it != j.end()) {
    if (!it->is_string() || !parse_anchor(it->get<std::string>(), &r->anchor))
      return invalid_config(where + ".anchor: must be bottom_center, center or top_center, got " +
                            it->dump());
  }
  if (auto it = j.find("min_track_age"); it != j.end())
    VAS_RETURN_IF_ERROR(integer(*it, where + ".min_track_age", 0, &r->min_track_age));
  double d = 0;
  if (line) {
    const json* lv = nullptr;
    VAS_ASSIGN_OR_RETURN(lv, req("line"));
    std::vector<Point> pts;
    VAS_RETURN_IF_ERROR(points(*lv, where + ".line", &pts));
    if (pts.size() != 2)
      return invalid_config(where + ".line: needs exactly 2 points, got " +
                            std::to_string(pts.size()));
    if (pts[0].x == pts[1].x && pts[0].y == pts[1].y)
      return invalid_config(where + ".line: zero-length line");
    r->a = pts[0];
    r->b = pts[1];
    if (auto it = j.find("hysteresis"); it != j.end()) {
      VAS_RETURN_IF_ERROR(number(*it, where + ".hysteresis", 0, false, &d));
      r->hysteresis = d;
    }
    if (auto it = j.find("direction"); it != j.end()) {
      const std::string s = it->is_string() ? it->get<std::string>() : "";
      if (s == "both") {
        r->direction = CrossDirection::kBoth;
      } else if (s == "in") {
        r->direction = CrossDirection::kIn;
      } else if (s == "out") {
        r->direction = CrossDirection::kOut;
      } else {
        return invalid_config(where + ".direction: must be both, in or out, got " + it->dump());
      }
    }
    return Status::ok();
  }
  const json* pv = nullptr;
  VAS_ASSIGN_OR_RETURN(pv, req("polygon"));
  VAS_RETURN_IF_ERROR(points(*pv, where + ".polygon", &r->polygon));
  VAS_RETURN_IF_ERROR(validate_polygon(r->polygon).with_context(where + ".polygon"));
  if (r->type == RuleType::kLoitering) {
    const json* dv = nullptr;
    VAS_ASSIGN_OR_RETURN(dv, req("dwell_s"));
    VAS_RETURN_IF_ERROR(number(*dv, where + ".dwell_s", 0, true, &d));
    r->dwell_us = static_cast<int64_t>(std::llround(d * 1e6));
    if (auto it = j.find("gap_s"); it != j.end()) {
      VAS_RETURN_IF_ERROR(number(*it, where + ".gap_s", 0, false, &d));
      r->gap_us = static_cast<int64_t>(std::llround(d * 1e6));
    }
  } else if (r->type == RuleType::kCrowding) {
    const json* mv = nullptr;
    VAS_ASSIGN_OR_RETURN(mv, req("max_count"));
    VAS_RETURN_IF_ERROR(integer(*mv, where + ".max_count", 0, &r->max_count));
    if (auto it = j.find("duration_s"); it != j.end()) {
      VAS_RETURN_IF_ERROR(number(*it, where + ".duration_s", 0, false, &d));
      r->duration_us = static_cast<int64_t>(std::llround(d * 1e6));
    }
  }
  return Status::ok();
}

}  // namespace

const char* rule_type_name(RuleType type) {
  switch (type) {
    case RuleType::kLineCrossing:
      return "line_crossing";
    case RuleType::kIntrusion:
      return "intrusion";
    case RuleType::kLoitering:
      return "loitering";
    case RuleType::kCrowding:
      return "crowding";
  }
  return "unknown";
}

Result<RulesConfig> parse_rules_config(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return invalid_config(std::string("rules config is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return invalid_config("rules config must be a JSON object");
  RulesConfig c;
  bool have_rules = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "channel") {
      if (!v.is_string()) return invalid_config("channel: must be a string, got " + v.dump());
      c.channel = v.get<std::string>();
    } else if (k == "forget_after_s") {
      double d = 0;
      VAS_RETURN_IF_ERROR(number(v, k, 0, true, &d));
      c.forget_after_us = static_cast<int64_t>(std::llround(d * 1e6));
    } else if (k == "confirmed_only") {
      if (!v.is_boolean()) return invalid_config("confirmed_only: must be true or false");
      c.confirmed_only = v.get<bool>();
    } else if (k == "rules") {
      if (!v.is_array()) return invalid_config("rules: must be a list");
      have_rules = true;
      std::set<std::string> ids;
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string where = "rules[" + std::to_string(i) + "]";
        RuleConfig r;
        VAS_RETURN_IF_ERROR(parse_rule(v[i], where, &r));
        if (!ids.insert(r.id).second)
          return invalid_config(where + ".id: duplicate rule id '" + r.id + "'");
        c.rules.push_back(std::move(r));
      }
    } else {
      return invalid_config(k + ": unknown field");
    }
  }
  if (!have_rules) return invalid_config("rules: missing");
  return c;
}

}  // namespace vas
