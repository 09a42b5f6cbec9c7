#include "associate/associator.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/assignment.h"

namespace vas {
namespace {

constexpr double kForbidden = 1e6;

}  // namespace

Result<AssociatorConfig> parse_associator_config(const std::string& text) {
  AssociatorConfig c;
  if (text.empty()) return c;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return invalid_config(std::string("associator config is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return invalid_config("associator config must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    if (k == "parent_class" || k == "child_class" || k == "forget_after") {
      if (!v.is_number_integer()) return invalid_config(k + ": must be an integer");
      const int n = v.get<int>();
      if (n < (k == "forget_after" ? 1 : 0))
        return invalid_config(k + ": must be " + (k == "forget_after" ? "positive" : ">= 0"));
      (k == "parent_class"  ? c.parent_class
       : k == "child_class" ? c.child_class
                            : c.forget_after) = n;
    } else if (k == "min_containment") {
      if (!v.is_number()) return invalid_config(k + ": must be a number");
      c.min_containment = v.get<float>();
      if (!(c.min_containment > 0 && c.min_containment <= 1))
        return invalid_config(k + ": must be in (0, 1]");
    } else if (k == "region") {
      if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number())
        return invalid_config("region: must be [top, bottom] fractions of the parent height");
      c.region_top = v[0].get<float>();
      c.region_bottom = v[1].get<float>();
      if (!(c.region_top >= 0 && c.region_top < c.region_bottom && c.region_bottom <= 1))
        return invalid_config("region: needs 0 <= top < bottom <= 1");
    } else {
      return invalid_config(k + ": unknown field");
    }
  }
  if (c.parent_class == c.child_class)
    return invalid_config("child_class: must differ from parent_class");
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
