// The analytics of one channel, composed: a tracker, then (each optional) an associator, a
// best-shot selector and the business rules, run in that order on every frame.
//
//   detections --> Tracker --> Associator --> BestShotSelector --> RulesEngine
//                  (update,     (parent ids)   (crops from the      (events, with the
//                   or predict                  frame, records)      best-shot id of
//                   on skipped                                       the track)
//                   frames)
//
// Each call returns the frame's tracks, the rule events, the best-shot records emitted and
// track start/end events. The modules stay usable alone (the C API exposes each one); this
// class only joins them, so the pipeline and the bindings do not each join them their own way.
//
// Thread safety: one instance per channel, one call at a time; no threads of its own.
// Ownership: an AnalyticsOutput borrows from the instance (the best-shot records and the rule
// and channel strings of the events) and is valid until the next call on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "associate/associator.h"
#include "business/rules_config.h"
#include "business/rules_engine.h"
#include "core/detection.h"
#include "core/image.h"
#include "core/status.h"
#include "select/best_shot.h"
#include "track/tracker.h"

namespace vas {

struct AnalyticsConfig {
  std::string channel;
  TrackerConfig tracker;
  std::optional<BestShotConfig> best_shot;     // none: no crops, events carry best_shot_id -1
  std::optional<AssociatorConfig> associator;  // none: parent_track_id stays -1
  std::optional<RulesConfig> rules;            // none: no rule events
};

// Parses one JSON object:
//   {"channel": "cam1", "tracker": {...}, "best_shot": {...}, "associator": {...},
//    "rules": {...}}
// Each member is parsed by its module's own parser (parse_tracker_config and so on) and its
// errors are prefixed with the member's name ("best_shot: top_k: ..."). Only "channel" is
// required; a missing tracker gets the tracker defaults, a missing optional module is off.
// The rules' own "channel" may be left out (it takes the top-level one) but may not differ.
Result<AnalyticsConfig> parse_analytics_config(const std::string& json);

// A track's confirmed life: kStart on the first frame a track is reported confirmed, kEnd on
// the frame it is reported removed, or at flush() for tracks still alive. Tracks removed
// before they were ever confirmed get neither, so every kStart has exactly one kEnd.
enum class TrackEventKind : int { kStart = 0, kEnd = 1 };
const char* track_event_kind_name(TrackEventKind kind);

// Why a track ended.
enum class TrackEndReason : int {
  kNone = 0,       // kStart events
  kRemoved = 1,    // the tracker gave it up (unseen for max_age frames)
  kFlush = 2,      // end of stream, or the channel stopped
  kSourceGap = 3,  // the source reconnected or its media time jumped: see end_tracks()
};
const char* track_end_reason_name(TrackEndReason reason);  // "", "removed", "flush", "source_gap"

struct TrackEvent {
  TrackEventKind kind = TrackEventKind::kStart;
  int64_t track_id = -1;
  int class_id = 0;
  int64_t timestamp_us = 0;
  int64_t start_us = 0;  // when the track started (== timestamp_us for kStart)
  TrackEndReason reason = TrackEndReason::kNone;
};

struct AnalyticsOutput {
  // Every track the tracker reported on this frame (tentative, confirmed, lost and removed),
  // ordered by id, with parent_track_id set when an associator is configured.
  std::vector<TrackedObject> tracks;
  std::vector<TrackEvent> track_events;  // starts in id order, then ends in id order
  std::vector<Event> events;             // rule events (RulesEngine::events())
  // Best-shot records emitted on this frame (BestShotSelector::records()), borrowed: valid
  // until the next call. Their crops live in the selector's unlocked pool, so copy the pixels
  // (or encode them) before handing them to another thread.
  std::vector<const BestShotRecord*> best_shots;

  void clear();
};

class Analytics {
 public:
  // Errors: each module's creation error, with the channel named.
  static Result<std::unique_ptr<Analytics>> create(const AnalyticsConfig& config);

  // A frame on which detection ran: tracker update, association, best shots (crops from
  // `frame`; a null frame takes none) and rules. dets may be null when n is 0. Timestamps must
  // not go backwards. On error `out` is left cleared and the error names the channel.
  Status update(const ImageView* frame, const Detection* dets, size_t n, int64_t timestamp_us,
                AnalyticsOutput* out);
  // The same with one appearance embedding per detection (see Tracker::update).
  Status update(const ImageView* frame, const Detection* dets, size_t n, const float* embeddings,
                size_t dim, int64_t timestamp_us, AnalyticsOutput* out);

  // A frame on which detection was skipped: the tracks coast (Tracker::predict), then the same
  // downstream steps (a predicted box never becomes a crop).
  Status predict(const ImageView* frame, int64_t timestamp_us, AnalyticsOutput* out);

  // End of stream: the selector emits every held shot, the rules close open stays and
  // crowding, and every live started track ends. `tracks` is empty.
  Status flush(int64_t timestamp_us, AnalyticsOutput* out);

  // A gap in the source (a reconnect, or media time jumping): what was seen before it cannot
  // be trusted to continue after it (the camera may point elsewhere, people moved while it was
  // away). As flush(), with reason kSourceGap, and the tracker forgets every track: new ids
  // follow the old ones, so none is reused, and dwell timers start again.
  Status end_tracks(int64_t timestamp_us, AnalyticsOutput* out);

  // Replaces the rules while running (or adds them, or removes them with an empty rules
  // list). A rule parsed from the same JSON as a running one (same id, type and fields) keeps
  // its state and line counts; every other rule starts fresh (a track already in its zone
  // enters on the next frame), and a removed rule emits nothing more (RulesEngine::
  // reconfigure). On error the old rules stay. The rules' channel must be empty or this
  // channel's. Like every call, it ends the validity of the last output's events.
  Status update_rules(const RulesConfig& rules);

  // Counts of a line_crossing rule by id. Errors: kNotFound naming the id (also when no rules
  // are configured), kInvalidArgument when the rule is of another type.
  Result<LineCounts> line_counts(const std::string& rule_id) const;

  const AnalyticsConfig& config() const { return config_; }
  const Tracker& tracker() const { return *tracker_; }
  const BestShotSelector* best_shot_selector() const { return selector_.get(); }
  const RulesEngine* rules() const { return rules_.get(); }

 private:
  explicit Analytics(const AnalyticsConfig& config) : config_(config) {}

  struct Started {
    int64_t start_us = 0;
    int class_id = 0;  // as last reported
  };

  Status begin(const ImageView* frame, AnalyticsOutput* out) const;
  Status downstream(const ImageView* frame, int64_t timestamp_us, AnalyticsOutput* out);
  Status fail(const Status& status, AnalyticsOutput* out) const;
  Status end_all(int64_t timestamp_us, TrackEndReason reason, AnalyticsOutput* out);

  AnalyticsConfig config_;
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<Associator> associator_;
  std::unique_ptr<BestShotSelector> selector_;
  std::unique_ptr<RulesEngine> rules_;
  std::unordered_map<int64_t, Started> started_;  // started (confirmed) tracks not yet ended
};

}  // namespace vas
