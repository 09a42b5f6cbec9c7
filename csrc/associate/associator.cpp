#include "associate/associator.h"

#include <algorithm>

#include "core/assignment.h"
#include "core/config_reader.h"

namespace vas {
namespace {

constexpr double kForbidden = 1e6;

}  // namespace

Result<AssociatorConfig> parse_associator_config(const std::string& text) {
  AssociatorConfig c;
  if (text.empty()) return c;
  VAS_ASSIGN_OR_RETURN(nlohmann::json doc, parse_config_json(text, "associator config"));
  ConfigObject o(doc, "", "associator config");
  o.opt("parent_class", &c.parent_class, at_least(0));
  o.opt("child_class", &c.child_class, at_least(0));
  o.opt("forget_after", &c.forget_after, at_least(1));
  o.opt("min_containment", &c.min_containment, in_range_open_lo(0, 1));
  std::vector<float> region;
  if (o.opt("region", &region, in_range(0, 1))) {
    if (region.size() != 2 || !(region[0] < region[1])) {
      o.fail("region", "expected [top, bottom] fractions of the parent height with top < bottom");
    } else {
      c.region_top = region[0];
      c.region_bottom = region[1];
    }
  }
  VAS_RETURN_IF_ERROR(o.finish());
  if (c.parent_class == c.child_class) {
    return invalid_config("child_class: must differ from parent_class");
  }
  return c;
}

float containment(const TrackedObject& c, float x1, float y1, float x2, float y2) {
  const float area = (c.x2 - c.x1) * (c.y2 - c.y1);
  if (area <= 0) return 0;
  const float ix = std::max(0.0f, std::min(c.x2, x2) - std::max(c.x1, x1));
  const float iy = std::max(0.0f, std::min(c.y2, y2) - std::max(c.y1, y1));
  return ix * iy / area;
}

std::vector<int> Associator::match_frame(const std::vector<TrackedObject>& objects) const {
  std::vector<int> parent_of(objects.size(), -1);
  std::vector<int> parents, children;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (objects[i].state == TrackState::kRemoved) continue;
    if (objects[i].class_id == config_.parent_class) parents.push_back(static_cast<int>(i));
    if (objects[i].class_id == config_.child_class) children.push_back(static_cast<int>(i));
  }
  if (parents.empty() || children.empty()) return parent_of;
  const int rows = static_cast<int>(children.size());
  const int cols = static_cast<int>(parents.size());
  std::vector<double> cost(static_cast<size_t>(rows) * cols, kForbidden);
  for (int r = 0; r < rows; ++r) {
    const TrackedObject& c = objects[children[r]];
    const float ccx = 0.5f * (c.x1 + c.x2);
    for (int q = 0; q < cols; ++q) {
      const TrackedObject& p = objects[parents[q]];
      const float h = p.y2 - p.y1, w = p.x2 - p.x1;
      if (h <= 0 || w <= 0) continue;
      const float share = containment(c, p.x1, p.y1 + config_.region_top * h, p.x2,
                                      p.y1 + config_.region_bottom * h);
      if (share < config_.min_containment) continue;
      // Prefer full containment, then a face centred over the body.
      const float off = std::fabs(ccx - 0.5f * (p.x1 + p.x2)) / w;
      cost[static_cast<size_t>(r) * cols + q] = (1.0 - share) + 0.5 * off;
    }
  }
  const std::vector<int> match = solve_assignment(cost, rows, cols, kForbidden);
  for (int r = 0; r < rows; ++r) {
    if (match[r] >= 0) parent_of[children[r]] = parents[match[r]];
  }
  return parent_of;
}

void Associator::update(std::vector<TrackedObject>* objects) {
  ++frame_;
  const std::vector<int> match = match_frame(*objects);
  for (size_t i = 0; i < objects->size(); ++i) {
    TrackedObject& o = (*objects)[i];
    if (o.class_id != config_.child_class) continue;
    if (o.state == TrackState::kRemoved) {
      votes_.erase(o.track_id);
      o.parent_track_id = -1;
      continue;
    }
    Votes& v = votes_[o.track_id];
    v.last_seen = frame_;
    if (match[i] >= 0) {
      const int64_t parent = (*objects)[match[i]].track_id;
      ++v.counts[parent];
      v.last_parent = parent;
    }
    o.parent_track_id = parent_of(o.track_id);
  }
  for (auto it = votes_.begin(); it != votes_.end();) {
    it = frame_ - it->second.last_seen > config_.forget_after ? votes_.erase(it) : std::next(it);
  }
}

int64_t Associator::parent_of(int64_t child_track_id) const {
  auto it = votes_.find(child_track_id);
  if (it == votes_.end() || it->second.counts.empty()) return -1;
  const Votes& v = it->second;
  int64_t best = -1;
  int best_n = 0;
  for (const auto& [parent, n] : v.counts) {
    if (n > best_n || (n == best_n && parent == v.last_parent) ||
        (n == best_n && best != v.last_parent && parent < best)) {
      best = parent;
      best_n = n;
    }
  }
  return best;
}

}  // namespace vas
