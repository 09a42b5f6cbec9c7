// JSON parsing of TrackerConfig (through core/config_reader.h): every field range-checked,
// errors name the field's path ("tracker.min_hits: ...").
#include <algorithm>
#include <cctype>
#include <string>

#include "core/config_reader.h"
#include "track/tracker.h"

namespace vas {

namespace {

// Errors of configs built in code (check_tracker_config) use the same path as parsed ones.
Status field_error(const std::string& field, const std::string& why) {
  return invalid_config("tracker." + field + ": " + why);
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
  VAS_ASSIGN_OR_RETURN(nlohmann::json doc, parse_config_json(text, "tracker config"));
  ConfigObject o(doc, "tracker", "tracker config");
  if (o.opt_choice("type", &c.type,
                   {{"sort", TrackerType::kSort}, {"bytetrack", TrackerType::kByteTrack}}) &&
      c.type == TrackerType::kSort) {
    c.min_hits = 3;
  }
  VAS_RETURN_IF_ERROR(o.status());
  const bool sort = c.type == TrackerType::kSort;
  const std::string not_here =
      std::string("does not apply to type '") + (sort ? "sort" : "bytetrack") + "'";
  const NumberRange unit = in_range(0, 1);
  o.opt("min_hits", &c.min_hits, in_range(1, 1000000));
  o.opt("max_age", &c.max_age, in_range(0, 1000000));
  o.opt("per_class", &c.per_class);
  o.opt("confirm_first_frame", &c.confirm_first_frame);
  for (const char* key : {"min_score", "iou_threshold"}) {
    if (!sort) o.reject(key, not_here);
  }
  for (const char* key : {"track_thresh", "low_thresh", "high_thresh", "match_thresh",
                          "second_match_thresh", "unconfirmed_match_thresh", "fuse_score"}) {
    if (sort) o.reject(key, not_here);
  }
  if (sort) {
    o.opt("min_score", &c.min_score, unit);
    o.opt("iou_threshold", &c.iou_threshold, unit);
  } else {
    o.opt("track_thresh", &c.track_thresh, unit);
    o.opt("low_thresh", &c.low_thresh, unit);
    o.opt("high_thresh", &c.high_thresh, unit);
    o.opt("match_thresh", &c.match_thresh, unit);
    o.opt("second_match_thresh", &c.second_match_thresh, unit);
    o.opt("unconfirmed_match_thresh", &c.unconfirmed_match_thresh, unit);
    o.opt("fuse_score", &c.fuse_score);
  }
  o.opt("center_weight", &c.center_weight, unit);
  o.opt("center_gate", &c.center_gate, in_range(kMinCenterGate, kMaxCenterGate));
  o.opt("appearance_weight", &c.appearance_weight, unit);
  o.opt("appearance_momentum", &c.appearance_momentum, unit);
  o.opt("appearance_gate", &c.appearance_gate, in_range(0, 2));
  o.opt("embedding_dim", &c.embedding_dim, in_range(0, kMaxEmbeddingDim));
  VAS_RETURN_IF_ERROR(o.finish());
  if (!sort && c.low_thresh > c.track_thresh) {
    return field_error("low_thresh", "must not exceed track_thresh");
  }
  VAS_RETURN_IF_ERROR(check_tracker_config(c));
  return c;
}

}  // namespace vas
