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

Status parse_rule(const json& j, const std::string& where, RuleConfig* r) {
  if (!j.is_object()) return invalid_config(where + ": must be an object");
  auto tit = j.find("type");
  if (tit == j.end()) return invalid_config(where + ".type: missing");
  if (!tit->is_string()) return invalid_config(where + ".type: must be a string");
  const RuleTypeInfo* type = find_rule_type(tit->get<std::string>());
  if (!type) {
    return invalid_config(where + ".type: unknown rule type '" + tit->get<std::string>() + "' (" +
                          rule_type_names() + ")");
  }
  r->type = type->name;
  std::set<std::string> allowed = {"id", "type", "classes", "anchor", "min_track_age"};
  allowed.insert(type->fields.begin(), type->fields.end());
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!allowed.count(it.key()))
      return invalid_config(where + "." + it.key() + ": unknown field for rule type '" + r->type +
                            "'");
  }
  auto idv = j.find("id");
  if (idv == j.end()) return invalid_config(where + ".id: missing");
  if (!idv->is_string() || idv->get<std::string>().empty())
    return invalid_config(where + ".id: must be a non-empty string");
  r->id = idv->get<std::string>();
  r->source = j.dump();  // object keys come out sorted, so equal rules give equal text
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
  return type->parse(RuleJson(j, where), r);
}

}  // namespace

Status RuleJson::find(const char* key, Need need, const json** out) const {
  auto it = j_.find(key);
  if (it == j_.end()) {
    *out = nullptr;
    return need == kRequired ? invalid_config(path(key) + ": missing") : Status::ok();
  }
  *out = &*it;
  return Status::ok();
}

Status RuleJson::number(const char* key, Need need, double lo, bool lo_open, double* out) const {
  const json* v = nullptr;
  VAS_RETURN_IF_ERROR(find(key, need, &v));
  return v ? vas::number(*v, path(key), lo, lo_open, out) : Status::ok();
}

Status RuleJson::seconds(const char* key, Need need, bool lo_open, int64_t* out_us) const {
  const json* v = nullptr;
  VAS_RETURN_IF_ERROR(find(key, need, &v));
  if (!v) return Status::ok();
  double d = 0;
  VAS_RETURN_IF_ERROR(vas::number(*v, path(key), 0, lo_open, &d));
  *out_us = static_cast<int64_t>(std::llround(d * 1e6));
  return Status::ok();
}

Status RuleJson::integer(const char* key, Need need, int lo, int* out) const {
  const json* v = nullptr;
  VAS_RETURN_IF_ERROR(find(key, need, &v));
  return v ? vas::integer(*v, path(key), lo, out) : Status::ok();
}

Status RuleJson::points(const char* key, Need need, std::vector<Point>* out) const {
  const json* v = nullptr;
  VAS_RETURN_IF_ERROR(find(key, need, &v));
  return v ? vas::points(*v, path(key), out) : Status::ok();
}

Status RuleJson::choice(const char* key, Need need, const std::vector<std::string>& options,
                        int* out) const {
  const json* v = nullptr;
  VAS_RETURN_IF_ERROR(find(key, need, &v));
  if (!v) return Status::ok();
  const std::string s = v->is_string() ? v->get<std::string>() : "";
  std::string list;
  for (size_t i = 0; i < options.size(); ++i) {
    if (!s.empty() && s == options[i]) {
      *out = static_cast<int>(i);
      return Status::ok();
    }
    list += (i == 0 ? "" : i + 1 == options.size() ? " or " : ", ") + options[i];
  }
  return invalid_config(path(key) + ": must be " + list + ", got " + v->dump());
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
