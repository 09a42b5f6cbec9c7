#include "business/rules_config.h"

#include <cmath>
#include <set>

namespace vas {
namespace {

NumberRange lower_bound(double lo, bool lo_open) { return lo_open ? above(lo) : at_least(lo); }

// Reads one rule: the fields every rule has here, then its type's own fields.
Status parse_rule(ConfigObject& j, RuleConfig* r) {
  std::string type_name;
  if (!j.req("type", &type_name)) return j.status();
  const RuleTypeInfo* type = find_rule_type(type_name);
  if (!type) {
    j.fail("type", "unknown rule type '" + type_name + "' (" + rule_type_names() + ")");
    return j.status();
  }
  r->type = type->name;
  // Unknown fields are reported before the values, naming the type they do not belong to.
  for (const char* key : {"id", "classes", "anchor", "min_track_age"}) j.allow(key);
  for (const std::string& key : type->fields) j.allow(key);
  VAS_RETURN_IF_ERROR(j.finish(" for rule type '" + r->type + "'"));
  if (j.req("id", &r->id) && r->id.empty()) j.fail("id", "must be a non-empty string");
  j.opt("classes", &r->classes, in_range(0, 1 << 30));
  std::string anchor;
  if (j.opt("anchor", &anchor) && !parse_anchor(anchor, &r->anchor)) {
    j.fail("anchor", "expected one of 'bottom_center', 'center', 'top_center', got '" +
                         config_value_excerpt(nlohmann::json(anchor), 40, false) + "'");
  }
  j.opt("min_track_age", &r->min_track_age, in_range(0, 1 << 30));
  VAS_RETURN_IF_ERROR(j.status());
  r->source = j.value()->dump();  // object keys come out sorted, so equal rules give equal text
  return type->parse(RuleJson(&j), r);
}

}  // namespace

Status RuleJson::number(const char* key, Need need, double lo, bool lo_open, double* out) const {
  need == kRequired ? rule_->req(key, out, lower_bound(lo, lo_open))
                    : rule_->opt(key, out, lower_bound(lo, lo_open));
  return rule_->status();
}

Status RuleJson::seconds(const char* key, Need need, bool lo_open, int64_t* out_us) const {
  double d = 0;
  if (need == kRequired ? rule_->req(key, &d, lower_bound(0, lo_open))
                        : rule_->opt(key, &d, lower_bound(0, lo_open))) {
    *out_us = static_cast<int64_t>(std::llround(d * 1e6));
  }
  return rule_->status();
}

Status RuleJson::integer(const char* key, Need need, int lo, int* out) const {
  need == kRequired ? rule_->req(key, out, in_range(lo, 1 << 30))
                    : rule_->opt(key, out, in_range(lo, 1 << 30));
  return rule_->status();
}

Status RuleJson::points(const char* key, Need need, std::vector<Point>* out) const {
  ConfigArray pts = rule_->array(key, need == kRequired);
  if (!pts.present()) return rule_->status();
  out->clear();
  for (size_t i = 0; i < pts.size() && pts.ok(); ++i) {
    const nlohmann::json& p = pts.raw(i);
    if (!p.is_array() || p.size() != 2) {
      pts.fail(i, "expected [x, y], got " + config_value_text(p));
      break;
    }
    std::vector<double> xy;
    if (pts.read(i, &xy)) out->push_back({xy[0], xy[1]});
  }
  return rule_->status();
}

Status RuleJson::choice(const char* key, Need need, const std::vector<std::string>& options,
                        int* out) const {
  std::string s;
  if (!(need == kRequired ? rule_->req(key, &s) : rule_->opt(key, &s))) return rule_->status();
  std::string list;
  for (size_t i = 0; i < options.size(); ++i) {
    if (s == options[i]) {
      *out = static_cast<int>(i);
      return Status::ok();
    }
    list += (i == 0 ? "'" : ", '") + options[i] + "'";
  }
  rule_->fail(key, "expected one of " + list + ", got '" +
                       config_value_excerpt(nlohmann::json(s), 40, false) + "'");
  return rule_->status();
}

Result<RulesConfig> parse_rules_config(const std::string& text) {
  VAS_ASSIGN_OR_RETURN(nlohmann::json doc, parse_config_json(text, "rules config"));
  ConfigObject o(doc, "", "rules config");
  RulesConfig c;
  o.opt("channel", &c.channel);
  double d = 0;
  if (o.opt("forget_after_s", &d, above(0))) {
    c.forget_after_us = static_cast<int64_t>(std::llround(d * 1e6));
  }
  o.opt("confirmed_only", &c.confirmed_only);
  ConfigArray rules = o.array("rules", true);
  std::set<std::string> ids;
  for (size_t i = 0; i < rules.size() && rules.ok(); ++i) {
    ConfigObject j = rules.object(i);
    RuleConfig r;
    VAS_RETURN_IF_ERROR(o.status());
    VAS_RETURN_IF_ERROR(parse_rule(j, &r));
    VAS_RETURN_IF_ERROR(j.finish(" for rule type '" + r.type + "'"));
    if (!ids.insert(r.id).second) {
      j.fail("id", "duplicate rule id '" + r.id + "'");
      return j.status();
    }
    c.rules.push_back(std::move(r));
  }
  VAS_RETURN_IF_ERROR(o.finish());
  return c;
}

}  // namespace vas
