// JSON parsing of TrackerConfig: every field range-checked, errors name the field.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

#include "track/tracker.h"

namespace vas {

namespace {

using json = nlohmann::json;

Status field_error(const std::string& field, const std::string& why) {
  return invalid_config("tracker config: field '" + field + "' " + why);
}

Status read_int(const std::string& key, const json& v, int lo, int hi, int* out) {
  if (!v.is_number_integer()) return field_error(key, "must be an integer");
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) {
    return field_error(key, "is " + std::to_string(x) + ", outside " + std::to_string(lo) + ".." +
                                std::to_string(hi));
  }
  *out = static_cast<int>(x);
  return Status::ok();
}

Status read_float(const std::string& key, const json& v, float lo, float hi, float* out) {
  if (!v.is_number()) return field_error(key, "must be a number");
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) {
    return field_error(key, "is " + std::to_string(x) + ", outside " + std::to_string(lo) + ".." +
                                std::to_string(hi));
  }
  *out = static_cast<float>(x);
  return Status::ok();
}

Status read_bool(const std::string& key, const json& v, bool* out) {
  if (!v.is_boolean()) return field_error(key, "must be true or false");
  *out = v.get<bool>();
  return Status::ok();
}

}  // namespace

Status check_tracker_config(const TrackerConfig& c) {
  const auto in = [](float x, float lo, float hi) { return x >= lo && x <= hi; };
  if (c.min_hits < 1) return field_error("min_hits", "must be >= 1");
  if (c.max_age < 0) return field_error("max_age", "must be >= 0");
  if (!in(c.center_weight, 0.0f, 1.0f)) return field_error("center_weight", "must be in 0..1");
  if (!in(c.center_gate, kMinCenterGate, kMaxCenterGate)) {
    return field_error("center_gate", "must be in " + std::to_string(kMinCenterGate) + ".." +
                                          std::to_string(kMaxCenterGate));
  }
  if (!in(c.appearance_weight, 0.0f, 1.0f)) {
    return field_error("appearance_weight", "must be in 0..1");
  }
  if (!in(c.appearance_momentum, 0.0f, 1.0f)) {
    return field_error("appearance_momentum", "must be in 0..1");
  }
  if (!in(c.appearance_gate, 0.0f, 2.0f)) return field_error("appearance_gate", "must be in 0..2");
  if (c.embedding_dim < 0 || c.embedding_dim > kMaxEmbeddingDim) {
    return field_error("embedding_dim", "must be in 0.." + std::to_string(kMaxEmbeddingDim));
  }
  if (c.embedding_dim > 0 && c.appearance_weight <= 0.0f) {
    return field_error("embedding_dim", "needs appearance_weight > 0");
  }
  return Status::ok();
}

Result<TrackerConfig> parse_tracker_config(const std::string& text) {
  TrackerConfig c;
  c.min_hits = 2;
  if (std::all_of(text.begin(), text.end(), [](unsigned char ch) { return std::isspace(ch); })) {
    return c;
  }
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return invalid_config(std::string("tracker config: invalid JSON: ") + e.what());
  }
  if (!j.is_object()) return invalid_config("tracker config: expected a JSON object");
  if (auto it = j.find("type"); it != j.end()) {
    if (!it->is_string()) return field_error("type", "must be a string");
    const std::string type = it->get<std::string>();
    if (type == "sort") {
      c.type = TrackerType::kSort;
      c.min_hits = 3;
    } else if (type != "bytetrack") {
      return field_error("type", "is '" + type + "', expected 'sort' or 'bytetrack'");
    }
  }
  const bool sort = c.type == TrackerType::kSort;
  for (const auto& [key, v] : j.items()) {
    const auto only = [&, &key = key](bool ok) -> Status {  // C++17: no binding captures
      if (ok) return Status::ok();
      return field_error(
          key, std::string("does not apply to type '") + (sort ? "sort" : "bytetrack") + "'");
    };
    if (key == "type") continue;
    if (key == "min_hits") {
      VAS_RETURN_IF_ERROR(read_int(key, v, 1, 1000000, &c.min_hits));
    } else if (key == "max_age") {
      VAS_RETURN_IF_ERROR(read_int(key, v, 0, 1000000, &c.max_age));
    } else if (key == "per_class") {
      VAS_RETURN_IF_ERROR(read_bool(key, v, &c.per_class));
    } else if (key == "confirm_first_frame") {
      VAS_RETURN_IF_ERROR(read_bool(key, v, &c.confirm_first_frame));
    } else if (key == "min_score") {
      VAS_RETURN_IF_ERROR(only(sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.min_score));
    } else if (key == "iou_threshold") {
      VAS_RETURN_IF_ERROR(only(sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.iou_threshold));
    } else if (key == "track_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.track_thresh));
    } else if (key == "low_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.low_thresh));
    } else if (key == "high_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.high_thresh));
    } else if (key == "match_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.match_thresh));
    } else if (key == "second_match_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.second_match_thresh));
    } else if (key == "unconfirmed_match_thresh") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.unconfirmed_match_thresh));
    } else if (key == "fuse_score") {
      VAS_RETURN_IF_ERROR(only(!sort));
      VAS_RETURN_IF_ERROR(read_bool(key, v, &c.fuse_score));
    } else if (key == "center_weight") {
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.center_weight));
    } else if (key == "center_gate") {
      VAS_RETURN_IF_ERROR(read_float(key, v, kMinCenterGate, kMaxCenterGate, &c.center_gate));
    } else if (key == "appearance_weight") {
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.appearance_weight));
    } else if (key == "appearance_momentum") {
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 1.0f, &c.appearance_momentum));
    } else if (key == "appearance_gate") {
      VAS_RETURN_IF_ERROR(read_float(key, v, 0.0f, 2.0f, &c.appearance_gate));
    } else if (key == "embedding_dim") {
      VAS_RETURN_IF_ERROR(read_int(key, v, 0, kMaxEmbeddingDim, &c.embedding_dim));
    } else {
      return field_error(key, "is unknown");
    }
  }
  if (!sort && c.low_thresh > c.track_thresh) {
    return field_error("low_thresh", "must not exceed track_thresh");
  }
  VAS_RETURN_IF_ERROR(check_tracker_config(c));
  return c;
}

}  // namespace vas
