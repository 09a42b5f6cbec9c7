// One reader for every JSON config in vasdk (detector options, model cards, trackers, best shot,
// associator, rules): typed fields with defaults, nested objects and arrays that track their
// path, range checks, and a finish() that turns every field nobody read into an error.
//
// Every error is kInvalidConfig and names the full path of the value, then the cause:
//   tracker.min_hits: expected an integer in 1..1000000, got -2
//   rules[2].polygon[3]: expected [x, y], got [1]
//   card.decoder.strid: unknown field
//   tracker config is not valid JSON at line 3, column 7: syntax error ...
//
// Errors are sticky: the first one is kept, later reads on any view of the same document do
// nothing and return false, so a parser reads straight through and checks once at the end:
//
//   VAS_ASSIGN_OR_RETURN(nlohmann::json doc, parse_config_json(text, "tracker config"));
//   ConfigObject o(doc, "tracker", "tracker config");
//   o.opt("min_hits", &c.min_hits, at_least(1));
//   ConfigObject w = o.object("weights");          // optional section; absent = empty view
//   w.opt("size", &c.size, in_range(0, 1000));
//   VAS_RETURN_IF_ERROR(w.finish());
//   VAS_RETURN_IF_ERROR(o.finish());               // unknown fields -> errors
//
// Views borrow the json document, which must outlive them. Not thread-safe; one parser at a time
// per document.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/json_value.h"
#include "core/status.h"

namespace vas {

// Limits on every JSON text parse_config_json accepts (VAS_CONFIG_MAX_BYTES and
// VAS_CONFIG_MAX_DEPTH in vasdk.h).
constexpr size_t kConfigMaxBytes = 1048576;
constexpr size_t kConfigMaxDepth = 64;

// Parses untrusted `text`. Every failure is kInvalidConfig and names `what`:
//   "<what> is not valid JSON at line 2, column 5: <cause>"
//   "<what> nests arrays and objects deeper than the limit of 64 ... at line 1, column 65"
//   "<what> is 2000000 bytes, over the limit of 1048576 ..."
//   "<what>: channels[0].source.url: the string contains a NUL character ..."
//   "<what>: rules[1].id: duplicate key ..."
// Size and depth are checked before parsing, so a parsed document is at most kConfigMaxDepth
// deep and recursing over it is safe.
Result<nlohmann::json> parse_config_json(const std::string& text, const std::string& what);

// A numeric constraint and its wording in errors ("in 1..64", ">= 0", "in (0, 1]").
struct NumberRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  bool hi_open = false;

  bool contains(double x) const;
  // Wording after "expected an integer" / "expected a number"; empty when unbounded.
  std::string describe(bool integer) const;
};

inline NumberRange any_number() { return {}; }
inline NumberRange at_least(double lo) { return {lo, std::numeric_limits<double>::infinity()}; }
inline NumberRange above(double lo) {
  return {lo, std::numeric_limits<double>::infinity(), true, false};
}
inline NumberRange at_most(double hi) { return {-std::numeric_limits<double>::infinity(), hi}; }
inline NumberRange in_range(double lo, double hi) { return {lo, hi}; }
inline NumberRange in_range_open_lo(double lo, double hi) { return {lo, hi, true, false}; }

// Short JSON text of a value for error messages: at most 60 characters, never the whole value.
std::string config_value_text(const nlohmann::json& v);
// The same with a chosen length; strings unquoted when `quote_strings` is false.
std::string config_value_excerpt(const nlohmann::json& v, size_t max_chars, bool quote_strings);

// Type wording for errors: "an integer", "a number", "a list of numbers", ...
template <typename T>
std::string config_type_name() {
  if constexpr (std::is_same_v<T, bool>) {
    return "true or false";
  } else if constexpr (std::is_integral_v<T>) {
    return "an integer";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "a number";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "a string";
  } else {
    using U = typename T::value_type;
    const std::string inner = config_type_name<U>();  // "a number" -> "numbers"
    if constexpr (std::is_same_v<U, bool>) return "a list of true/false values";
    const auto space = inner.find(' ');
    std::string plural = inner.substr(space + 1);
    plural = plural.rfind("list of ", 0) == 0 ? "lists of " + plural.substr(8) : plural + "s";
    return "a list of " + plural;
  }
}

namespace config_detail {

struct State {
  Status first;      // the first error, OK while there is none
  std::string what;  // document name for errors about the root itself ("tracker config")
};

inline std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
inline std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

}  // namespace config_detail

class ConfigArray;

// A view of one JSON object (or of an absent optional section: then reads return false).
class ConfigObject {
 public:
  // Root view of `doc`. `path` prefixes every field ("tracker" -> "tracker.min_hits", "" ->
  // "min_hits"); `what` names the document when it is not an object ("best-shot config"; empty
  // when the caller adds its own context to every error).
  ConfigObject(const nlohmann::json& doc, std::string path, std::string what);

  // Optional field: absent leaves *out as it is (its default) and returns false; present and
  // valid writes *out and returns true; present and invalid records an error, returns false.
  template <typename T>
  bool opt(const std::string& key, T* out, const NumberRange& range = {}) {
    return read_field(key, out, range, false);
  }
  // Required field: absent is "<path>: missing".
  template <typename T>
  bool req(const std::string& key, T* out, const NumberRange& range = {}) {
    return read_field(key, out, range, true);
  }
  // A string field that must be one of `choices`, mapped to its value.
  template <typename E>
  bool opt_choice(const std::string& key, E* out,
                  std::initializer_list<std::pair<const char*, E>> choices, bool required = false);

  // Nested sections. Absent optional ones give an empty view; a wrong type records an error.
  ConfigObject object(const std::string& key, bool required = false);
  ConfigArray array(const std::string& key, bool required = false);

  bool has(const std::string& key) const;
  // Marks a field as known without reading it (read elsewhere, e.g. a type tag).
  void allow(const std::string& key);
  // A present `key` is an error "<path>.<key>: <why>" (e.g. "does not apply to type 'sort'").
  void reject(const std::string& key, const std::string& why);
  // Records "<path>.<key>: <message>" (or "<path>: <message>" for an empty key).
  void fail(const std::string& key, const std::string& message);
  // The raw value of a field (nullptr when absent), marked as known; for custom shapes.
  const nlohmann::json* raw(const std::string& key);

  // Turns every field not read, allowed or rejected into "<path>.<key>: unknown field<suffix>"
  // and returns the document's first error.
  Status finish(const std::string& unknown_suffix = "");

  bool present() const { return j_ != nullptr; }
  // The object itself (nullptr when absent), e.g. to keep its text.
  const nlohmann::json* value() const { return j_; }
  bool ok() const { return state_->first.is_ok(); }
  const Status& status() const { return state_->first; }
  const std::string& path() const { return path_; }
  std::string field_path(const std::string& key) const { return config_detail::join(path_, key); }

 private:
  friend class ConfigArray;
  ConfigObject(const nlohmann::json* j, std::string path,
               std::shared_ptr<config_detail::State> state)
      : j_(j), path_(std::move(path)), state_(std::move(state)) {}

  template <typename T>
  bool read_field(const std::string& key, T* out, const NumberRange& range, bool required);

  const nlohmann::json* j_;
  std::string path_;
  std::shared_ptr<config_detail::State> state_;
  std::set<std::string> known_;
};

// A view of one JSON array (or of an absent optional one: size() is 0).
class ConfigArray {
 public:
  size_t size() const { return j_ ? j_->size() : 0; }
  bool present() const { return j_ != nullptr; }
  std::string item_path(size_t i) const { return config_detail::index(path_, i); }
  const std::string& path() const { return path_; }
  bool ok() const { return state_->first.is_ok(); }

  template <typename T>
  bool read(size_t i, T* out, const NumberRange& range = {});
  ConfigObject object(size_t i);
  ConfigArray array(size_t i);
  const nlohmann::json& raw(size_t i) const { return (*j_)[i]; }
  // Records "<path>[i]: <message>".
  void fail(size_t i, const std::string& message);
  // Records "<path>: <message>" (the list as a whole: its length, its order, ...).
  void fail(const std::string& message);

 private:
  friend class ConfigObject;
  ConfigArray(const nlohmann::json* j, std::string path,
              std::shared_ptr<config_detail::State> state)
      : j_(j), path_(std::move(path)), state_(std::move(state)) {}

  const nlohmann::json* j_;
  std::string path_;
  std::shared_ptr<config_detail::State> state_;
};

namespace config_detail {

void record(State* state, const std::string& path, const std::string& message);

// Reads `v` at `path` into *out, recording "expected <type> <range>, got <v>" on failure.
template <typename T>
bool read_value(State* state, const nlohmann::json& v, const std::string& path, T* out,
                const NumberRange& range) {
  if (!state->first.is_ok()) return false;
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    constexpr bool integer = std::is_integral_v<T>;
    const auto expected = [&] {
      std::string r = range.describe(integer);
      if (r.empty() && integer) {  // say which integers fit when the type is the only bound
        r = "in " + std::to_string(static_cast<int64_t>(std::numeric_limits<T>::min())) + ".." +
            std::to_string(std::numeric_limits<T>::max());
      }
      return config_type_name<T>() + (r.empty() ? "" : " " + r);
    };
    T x{};
    if (!read_json(v, &x) || !range.contains(static_cast<double>(x))) {
      record(state, path, "expected " + expected() + ", got " + config_value_text(v));
      return false;
    }
    *out = x;
    return true;
  } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) {
    if (!read_json(v, out)) {
      record(state, path, "expected " + config_type_name<T>() + ", got " + config_value_text(v));
      return false;
    }
    return true;
  } else {  // std::vector<U>: each item is checked against `range` and named by its index
    if (!v.is_array()) {
      record(state, path, "expected " + config_type_name<T>() + ", got " + config_value_text(v));
      return false;
    }
    T items(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      if (!read_value(state, v[i], index(path, i), &items[i], range)) return false;
    }
    *out = std::move(items);
    return true;
  }
}

}  // namespace config_detail

template <typename T>
bool ConfigObject::read_field(const std::string& key, T* out, const NumberRange& range,
                              bool required) {
  known_.insert(key);
  if (!ok()) return false;
  const std::string p = field_path(key);
  if (!j_) {
    if (required) config_detail::record(state_.get(), p, "missing");
    return false;
  }
  auto it = j_->find(key);
  if (it == j_->end()) {
    if (required) config_detail::record(state_.get(), p, "missing");
    return false;
  }
  return config_detail::read_value(state_.get(), *it, p, out, range);
}

template <typename E>
bool ConfigObject::opt_choice(const std::string& key, E* out,
                              std::initializer_list<std::pair<const char*, E>> choices,
                              bool required) {
  std::string s;
  if (!(required ? req(key, &s) : opt(key, &s))) return false;
  std::string names;
  for (const auto& [name, value] : choices) {
    if (s == name) {
      *out = value;
      return true;
    }
    names += (names.empty() ? "'" : ", '") + std::string(name) + "'";
  }
  fail(key, "expected one of " + names + ", got '" +
                config_value_excerpt(nlohmann::json(s), 40, false) + "'");
  return false;
}

template <typename T>
bool ConfigArray::read(size_t i, T* out, const NumberRange& range) {
  if (!j_ || i >= j_->size()) return false;
  return config_detail::read_value(state_.get(), (*j_)[i], item_path(i), out, range);
}

}  // namespace vas
