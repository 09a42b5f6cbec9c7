// Business-rule configuration for one channel, parsed from JSON:
//
//   {"channel": "cam1", "forget_after_s": 2.0, "confirmed_only": true,
//    "rules": [
//      {"id": "door", "type": "line_crossing", "line": [[x, y], [x, y]], "hysteresis": 8,
//       "direction": "both", "min_track_age": 3, "classes": [0], "anchor": "bottom_center"},
//      {"id": "yard", "type": "intrusion", "polygon": [[x, y], ...]},
//      {"id": "bench", "type": "loitering", "polygon": [...], "dwell_s": 10, "gap_s": 1},
//      {"id": "lobby", "type": "crowding", "polygon": [...], "max_count": 5, "duration_s": 3}]}
//
// The fields every rule has are read here; each rule type (business/rule_types.cpp) reads its
// own. Unknown fields and bad values are errors whose message starts with the field's path,
// e.g. "rules[2].polygon: self-intersecting (edges 0 and 2 cross)".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "business/rule_type.h"
#include "core/geometry.h"
#include "core/status.h"

namespace vas {

struct RuleConfig {
  std::string id;
  std::string type;          // a registered rule type: line_crossing, intrusion, ...
  std::vector<int> classes;  // empty = every class
  Anchor anchor = Anchor::kBottomCenter;
  int min_track_age = 0;  // frames the engine must have seen a track before it can trigger
  // The rule's geometry, which overlays can draw: a line's two points (a -> b) or a zone's
  // polygon; empty for a type without one.
  std::vector<Point> shape;
  // The type's own parameters (hysteresis, dwell time, ...), set by its parser; may be null for
  // a type that has none.
  std::shared_ptr<const RuleParams> params;
  // The rule's JSON as parsed, keys sorted ("" for a rule built in code). A rule whose source
  // is unchanged keeps its state when the rules are reconfigured (RulesEngine::reconfigure), so
  // code that edits a parsed rule must clear it.
  std::string source;
};

struct RulesConfig {
  std::string channel;
  std::vector<RuleConfig> rules;
  int64_t forget_after_us = 2000000;  // a track unseen this long has left the scene
  bool confirmed_only = true;         // ignore tentative and lost tracks
};

Result<RulesConfig> parse_rules_config(const std::string& json);

}  // namespace vas
