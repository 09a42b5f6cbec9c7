// What a business-rule type is made of, and the registry that finds one by name.
//
// A rule type is a name, the JSON fields it adds to a rule, a parse function that fills its
// parameters, and a factory of evaluators. The RulesEngine owns one evaluator per configured
// rule and does what every type shares: class filters, confirmed-only, track age, forgetting
// unseen tracks, timestamps and event bookkeeping. All types live in business/rule_types.cpp,
// registered in its table; a new type is one more section and one line there, plus its test.
//
// Thread safety: the registry is immutable; an evaluator belongs to one engine (one call at a
// time).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/detection.h"
#include "core/geometry.h"
#include "core/status.h"

namespace vas {

struct RuleConfig;
struct Event;
enum class EventKind : int;
struct LineCounts;

// Type-specific parameters of one rule (e.g. a line and its hysteresis); each type derives its
// own. Immutable once parsed, so configs share them.
struct RuleParams {
  virtual ~RuleParams() = default;
};

// One visible object as a rule sees it on one frame: only objects of the rule's classes, and
// only confirmed ones unless the rules say otherwise.
struct RuleInput {
  const TrackedObject* object = nullptr;
  int frames = 0;           // frames the engine has seen this track, this one included
  bool old_enough = false;  // frames >= the rule's min_track_age
};

// Where an evaluator reports its events; the engine fills in the channel, rule and best shot.
class RuleEvents {
 public:
  virtual ~RuleEvents() = default;
  // track_id and class_id are -1 for events about the rule as a whole (crowding). start_us is
  // when what the event reports began (the timestamp itself for instant events).
  virtual void emit(EventKind kind, int64_t track_id, int class_id, int64_t timestamp_us,
                    int64_t start_us, int count) = 0;
};

// The state and logic of one configured rule.
class RuleEvaluator {
 public:
  virtual ~RuleEvaluator() = default;
  // One frame's objects for this rule, in the order the caller gave them.
  virtual void update(const std::vector<RuleInput>& objects, int64_t timestamp_us,
                      RuleEvents* events) = 0;
  // A track left the scene (removed, or unseen for forget_after_s): close what it holds open
  // (with class_id as last seen) and forget its state.
  virtual void leave(int64_t track_id, int class_id, int64_t timestamp_us, RuleEvents* events) = 0;
  // End of stream, after every track has left: close what the rule holds open and reset.
  virtual void flush(int64_t timestamp_us, RuleEvents* events) = 0;
  // The in/out counts of a rule that counts line crossings, else null.
  virtual const LineCounts* line_counts() const { return nullptr; }
};

// Reads the fields of one rule's JSON object. Every error starts with the field's path
// ("rules[2].dwell_s: ..."). A missing optional field leaves *out as it is.
class RuleJson {
 public:
  enum Need { kOptional, kRequired };
  RuleJson(const nlohmann::json& rule, std::string where) : j_(rule), where_(std::move(where)) {}

  const std::string& where() const { return where_; }
  std::string path(const char* key) const { return where_ + "." + key; }
  // lo is the lower bound, exclusive when lo_open.
  Status number(const char* key, Need need, double lo, bool lo_open, double* out) const;
  // A number of seconds >= 0 (> 0 when lo_open), as microseconds.
  Status seconds(const char* key, Need need, bool lo_open, int64_t* out_us) const;
  Status integer(const char* key, Need need, int lo, int* out) const;
  Status points(const char* key, Need need, std::vector<Point>* out) const;
  // One of the given strings; *out is its index.
  Status choice(const char* key, Need need, const std::vector<std::string>& options,
                int* out) const;

 private:
  Status find(const char* key, Need need, const nlohmann::json** out) const;

  const nlohmann::json& j_;
  std::string where_;
};

struct RuleTypeInfo {
  const char* name;
  // The JSON fields this type adds to id, type, classes, anchor and min_track_age.
  std::vector<std::string> fields;
  // Reads those fields into config->params (and config->shape where the rule has one).
  Status (*parse)(const RuleJson& json, RuleConfig* config);
  // Checks config->params (configs may be built in code) and makes the evaluator. Errors start
  // with `where`, the rule's path.
  Result<std::unique_ptr<RuleEvaluator>> (*create)(const RuleConfig& config,
                                                   const std::string& where);
};

// The type registered under this name, or null.
const RuleTypeInfo* find_rule_type(const std::string& name);
// "line_crossing, intrusion, loitering, crowding": the registered names, for messages.
std::string rule_type_names();

}  // namespace vas
