// The business-rules engine of one channel: line crossing with direction and hysteresis, zone
// intrusion (enter/exit), loitering (dwell above a threshold) and crowding (occupancy above N
// for T seconds), fed with tracked objects frame by frame.
//
// Thread safety: one instance per channel, one call at a time; no threads of its own.
// Ownership: events() and the strings they point to belong to the engine; the events stay valid
// until the next update() or flush(), the strings until the engine is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "business/rules_config.h"
#include "business/zones.h"
#include "core/detection.h"
#include "core/status.h"

namespace vas {

// Values are pinned: the C header mirrors them.
enum class EventKind : int {
  kCrossIn = 0,
  kCrossOut = 1,
  kEnter = 2,
  kExit = 3,
  kLoitering = 4,
  kCrowdingStart = 5,
  kCrowdingEnd = 6,
};
const char* event_kind_name(EventKind kind);

struct Event {
  const char* channel = "";  // owned by the engine
  const char* rule_id = "";  // owned by the engine
  int rule_index = 0;
  RuleType rule_type = RuleType::kIntrusion;
  EventKind kind = EventKind::kEnter;
  int64_t track_id = -1;  // -1 for crowding events
  int class_id = -1;      // -1 for crowding events
  int64_t timestamp_us = 0;
  int64_t start_us = 0;       // enter time (exit, loitering), time the occupancy rose (crowding),
                              // else timestamp_us
  int count = 0;              // occupancy for crowding events, else 0
  int64_t best_shot_id = -1;  // a best shot of the track when the caller's lookup has one
};

struct LineCounts {
  int64_t in = 0;
  int64_t out = 0;
};

class RulesEngine {
 public:
  // Returns the id of the best shot held for a track, or -1 (see BestShotSelector).
  using BestShotLookup = std::function<int64_t(int64_t track_id)>;

  static Result<std::unique_ptr<RulesEngine>> create(const RulesConfig& config);

  // Feeds one frame's objects. Timestamps must not go backwards. events() then holds this
  // frame's events, in rule order, then by object order. Removed tracks and tracks unseen for
  // forget_after_s leave their zones (exit events).
  Status update(const std::vector<TrackedObject>& objects, int64_t timestamp_us,
                const BestShotLookup& best_shot = nullptr);

  // End of stream: every track still in a zone exits and open crowding ends; state is cleared
  // except the line counts.
  Status flush(int64_t timestamp_us);

  const std::vector<Event>& events() const { return events_; }
  // Counts of a line_crossing rule by index (zeros for other rules or a bad index).
  LineCounts line_counts(int rule_index) const;
  // Counts of the line_crossing rule with this id. Errors: kNotFound naming the id when no
  // rule has it, kInvalidArgument when that rule is of another type.
  Result<LineCounts> line_counts(const std::string& rule_id) const;
  const RulesConfig& config() const { return config_; }

 private:
  explicit RulesEngine(const RulesConfig& config);

  struct PerRule {
    int side = 0;  // line: -1 right, +1 left, 0 not yet established
    Point last_point;
    bool inside = false;    // intrusion: an enter event is open
    int64_t enter_us = -1;  // intrusion / loitering: when the current stay began
    int64_t last_inside_us = -1;
    bool reported = false;  // loitering: already reported for this stay
  };
  struct TrackInfo {
    int class_id = 0;
    int frames = 0;  // frames seen by the engine
    int64_t last_seen_us = 0;
    std::vector<PerRule> rules;
  };
  struct Crowd {
    int64_t over_since = -1;
    bool active = false;
  };

  bool applies(const RuleConfig& r, int class_id) const;
  void push(int rule, EventKind kind, int64_t track, int class_id, int64_t ts, int64_t start,
            int count, const BestShotLookup& lookup);
  void leave(int64_t track_id, TrackInfo* t, int64_t ts, const BestShotLookup& lookup);

  RulesConfig config_;
  std::vector<Zone> zones_;        // one per zone rule
  std::vector<int> zone_of_rule_;  // rule index -> zones_ index, or -1 for lines
  std::unordered_map<int64_t, TrackInfo> tracks_;
  std::vector<Crowd> crowds_;
  std::vector<LineCounts> counts_;
  std::vector<Event> events_;
  std::vector<TrackedObject> visible_;
  std::vector<std::vector<int>> in_zones_;
  std::vector<int64_t> gone_;
  int64_t last_ts_ = INT64_MIN;
};

}  // namespace vas
