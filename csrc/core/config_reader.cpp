#include "core/config_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vas {
namespace {

using json = nlohmann::json;

// 1 -> "1", 0.25 -> "0.25", 1e6 -> "1000000": bounds read the way they are written in configs.
std::string format_bound(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == std::floor(x) && std::fabs(x) < 1e15) {
    return std::to_string(static_cast<int64_t>(x));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

}  // namespace

bool NumberRange::contains(double x) const {
  if (std::isnan(x)) return false;
  if (x < lo || (lo_open && x == lo)) return false;
  if (x > hi || (hi_open && x == hi)) return false;
  return true;
}

std::string NumberRange::describe(bool integer) const {
  const bool has_lo = !std::isinf(lo), has_hi = !std::isinf(hi);
  if (has_lo && has_hi) {
    if (integer && !lo_open && !hi_open) return "in " + format_bound(lo) + ".." + format_bound(hi);
    return std::string("in ") + (lo_open ? "(" : "[") + format_bound(lo) + ", " + format_bound(hi) +
           (hi_open ? ")" : "]");
  }
  if (has_lo) return (lo_open ? "> " : ">= ") + format_bound(lo);
  if (has_hi) return (hi_open ? "< " : "<= ") + format_bound(hi);
  return "";
}

namespace config_detail {

void record(State* state, const std::string& path, const std::string& message) {
  if (!state->first.is_ok()) return;
  state->first = invalid_config(path.empty() ? message : path + ": " + message);
}

}  // namespace config_detail

ConfigObject::ConfigObject(const json& doc, std::string path, std::string what)
    : j_(&doc), path_(std::move(path)), state_(std::make_shared<config_detail::State>()) {
  state_->what = std::move(what);
  if (!doc.is_object()) {
    j_ = nullptr;
    config_detail::record(state_.get(), state_->what,
                          "expected a JSON object, got " + config_value_text(doc));
  }
}

ConfigObject ConfigObject::object(const std::string& key, bool required) {
  known_.insert(key);
  const std::string p = field_path(key);
  const json* v = nullptr;
  if (j_ && ok()) {
    auto it = j_->find(key);
    if (it != j_->end()) v = &*it;
  }
  if (!v) {
    if (required && ok()) config_detail::record(state_.get(), p, "missing");
    return ConfigObject(nullptr, p, state_);
  }
  if (!v->is_object()) {
    config_detail::record(state_.get(), p, "expected an object, got " + config_value_text(*v));
    return ConfigObject(nullptr, p, state_);
  }
  return ConfigObject(v, p, state_);
}

ConfigArray ConfigObject::array(const std::string& key, bool required) {
  known_.insert(key);
  const std::string p = field_path(key);
  const json* v = nullptr;
  if (j_ && ok()) {
    auto it = j_->find(key);
    if (it != j_->end()) v = &*it;
  }
  if (!v) {
    if (required && ok()) config_detail::record(state_.get(), p, "missing");
    return ConfigArray(nullptr, p, state_);
  }
  if (!v->is_array()) {
    config_detail::record(state_.get(), p, "expected a list, got " + config_value_text(*v));
    return ConfigArray(nullptr, p, state_);
  }
  return ConfigArray(v, p, state_);
}

bool ConfigObject::has(const std::string& key) const { return j_ && j_->contains(key); }

void ConfigObject::allow(const std::string& key) { known_.insert(key); }

void ConfigObject::reject(const std::string& key, const std::string& why) {
  known_.insert(key);
  if (has(key)) fail(key, why);
}

void ConfigObject::fail(const std::string& key, const std::string& message) {
  config_detail::record(state_.get(), key.empty() ? path_ : field_path(key), message);
}

const json* ConfigObject::raw(const std::string& key) {
  known_.insert(key);
  if (!j_) return nullptr;
  auto it = j_->find(key);
  return it == j_->end() ? nullptr : &*it;
}

Status ConfigObject::finish(const std::string& unknown_suffix) {
  if (j_ && ok()) {
    for (auto it = j_->begin(); it != j_->end(); ++it) {
      if (!known_.count(it.key())) {
        config_detail::record(state_.get(), field_path(it.key()), "unknown field" + unknown_suffix);
        break;
      }
    }
  }
  return state_->first;
}

ConfigObject ConfigArray::object(size_t i) {
  const std::string p = item_path(i);
  if (!j_ || i >= j_->size() || !ok()) return ConfigObject(nullptr, p, state_);
  const json& v = (*j_)[i];
  if (!v.is_object()) {
    config_detail::record(state_.get(), p, "expected an object, got " + config_value_text(v));
    return ConfigObject(nullptr, p, state_);
  }
  return ConfigObject(&v, p, state_);
}

ConfigArray ConfigArray::array(size_t i) {
  const std::string p = item_path(i);
  if (!j_ || i >= j_->size() || !ok()) return ConfigArray(nullptr, p, state_);
  const json& v = (*j_)[i];
  if (!v.is_array()) {
    config_detail::record(state_.get(), p, "expected a list, got " + config_value_text(v));
    return ConfigArray(nullptr, p, state_);
  }
  return ConfigArray(&v, p, state_);
}

void ConfigArray::fail(size_t i, const std::string& message) {
  config_detail::record(state_.get(), item_path(i), message);
}

void ConfigArray::fail(const std::string& message) {
  config_detail::record(state_.get(), path_, message);
}

}  // namespace vas
