// Parent/child association (a face to its person body), within a frame and across time.
//
// Within a frame, a child box may attach to a parent whose expected region (by default the
// upper half of a person box) contains most of it; a Hungarian assignment over those candidates
// gives each parent at most one child. Across time, each child track keeps a vote count per
// parent track, and its parent_track_id is the parent with the most votes, so a single
// ambiguous frame does not flip the link.
//
// Thread safety: one instance per channel, one call at a time. No threads of its own.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/detection.h"
#include "core/status.h"

namespace vas {

struct AssociatorConfig {
  int parent_class = 0;          // e.g. person
  int child_class = 1;           // e.g. face
  float region_top = 0.0f;       // expected child region inside the parent box, as fractions
  float region_bottom = 0.5f;    //   of its height (0 = top edge)
  float min_containment = 0.6f;  // share of the child's area that must lie in the region
  int forget_after = 60;         // updates without seeing a child track before its votes go
};

// Parses {"parent_class", "child_class", "region": [top, bottom], "min_containment",
// "forget_after"}; unknown fields and bad values are errors naming the field.
Result<AssociatorConfig> parse_associator_config(const std::string& json);

// Share of box c's area inside the rectangle (x1, y1, x2, y2); 0 for an empty c.
float containment(const TrackedObject& c, float x1, float y1, float x2, float y2);

class Associator {
 public:
  explicit Associator(const AssociatorConfig& config) : config_(config) {}

  // Matches children to parents on this frame only: returns, for every object, the index in
  // `objects` of its parent, or -1. Does not touch the track-level votes.
  std::vector<int> match_frame(const std::vector<TrackedObject>& objects) const;

  // Matches this frame, adds one vote per matched child track, and sets parent_track_id of
  // every child object to its majority parent (or -1 while it has no votes). Removed child
  // tracks forget their votes.
  void update(std::vector<TrackedObject>* objects);

  // Current majority parent of a child track, or -1.
  int64_t parent_of(int64_t child_track_id) const;

 private:
  struct Votes {
    std::unordered_map<int64_t, int> counts;
    int64_t last_parent = -1;  // breaks ties in favour of the latest vote
    int64_t last_seen = 0;
  };

  AssociatorConfig config_;
  std::unordered_map<int64_t, Votes> votes_;
  int64_t frame_ = 0;
};

}  // namespace vas
