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
// Unknown fields and bad values are errors whose message starts with the field's path, e.g.
// "rules[2].polygon: self-intersecting (edges 0 and 2 cross)".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "core/status.h"

namespace vas {

enum class RuleType : int { kLineCrossing = 0, kIntrusion = 1, kLoitering = 2, kCrowding = 3 };
const char* rule_type_name(RuleType type);

// Which crossings a line rule reports. "in" is a crossing from the right of the line's a->b
// direction to its left, as seen on screen; "out" the other way.
enum class CrossDirection : int { kBoth = 0, kIn = 1, kOut = 2 };

struct RuleConfig {
  std::string id;
  RuleType type = RuleType::kIntrusion;
  std::vector<int> classes;  // empty = every class
  Anchor anchor = Anchor::kBottomCenter;
  int min_track_age = 0;  // frames the engine must have seen a track before it can trigger
  // line_crossing
  Point a, b;
  double hysteresis = 5.0;  // pixels: a side counts only this far from the line
  CrossDirection direction = CrossDirection::kBoth;
  // intrusion, loitering, crowding
  std::vector<Point> polygon;
  int64_t dwell_us = 0;     // loitering
  int64_t gap_us = 0;       // loitering: absences up to this long do not restart the dwell
  int max_count = 0;        // crowding: occupancy above this ...
  int64_t duration_us = 0;  // ... for at least this long
};

struct RulesConfig {
  std::string channel;
  std::vector<RuleConfig> rules;
  int64_t forget_after_us = 2000000;  // a track unseen this long has left the scene
  bool confirmed_only = true;         // ignore tentative and lost tracks
};

Result<RulesConfig> parse_rules_config(const std::string& json);

}  // namespace vas
