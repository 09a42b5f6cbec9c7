// Composed analytics of one channel: the same tracks, events and best shots as the modules run
// by hand, predicted frames, track start/end events, live rule updates, line-count lookups and
// config errors that name the field.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "analytics/analytics.h"

namespace vas {
namespace {

constexpr int kW = 320;
constexpr int kH = 240;
constexpr int64_t kFrameUs = 100000;

// A person walking from left to right with a face in the top of its box. Each person is seen
// on frames [first, last].
struct Walker {
  int first, last;
  float x0, y, speed;
};

const std::vector<Walker> kWalkers = {
    {0, 40, 20, 60, 6},     // crosses the line x = 160 on frame ~23, leaves before the end
    {5, 59, 280, 150, -5},  // walks the other way, crosses the line on frame ~29
    {12, 30, 60, 110, 3},   // never reaches the line
};

std::vector<Detection> detections(int frame) {
  std::vector<Detection> out;
  for (const Walker& w : kWalkers) {
    if (frame < w.first || frame > w.last) continue;
    const float x = w.x0 + w.speed * static_cast<float>(frame - w.first);
    Detection body;
    body.x1 = x - 15, body.x2 = x + 15, body.y1 = w.y - 40, body.y2 = w.y + 40;
    body.score = 0.9f;
    body.class_id = 0;
    Detection face;
    face.x1 = x - 7, face.x2 = x + 7, face.y1 = w.y - 38, face.y2 = w.y - 22;
    face.score = 0.8f;
    face.class_id = 1;
    out.push_back(body);
    out.push_back(face);
  }
  return out;
}

// Random texture whose sharpness differs per frame, so best-shot choices differ per frame.
Image frame_image(int frame) {
  Image img;
  img.width = kW;
  img.height = kH;
  img.data.resize(static_cast<size_t>(kW) * kH * 3);
  std::mt19937 rng(static_cast<uint32_t>(frame));
  const int amp = 20 + (frame * 37) % 200;
  for (uint8_t& b : img.data) b = static_cast<uint8_t>(rng() % amp);
  return img;
}

const char* kConfig = R"({
  "channel": "cam1",
  "tracker": {"type": "bytetrack", "min_hits": 2, "max_age": 4},
  "best_shot": {"top_k": 2, "interval_s": 1.0, "max_missing": 3},
  "associator": {"parent_class": 0, "child_class": 1},
  "rules": {"forget_after_s": 1.0, "rules": [
    {"id": "door", "type": "line_crossing", "line": [[160, 0], [160, 240]], "hysteresis": 4,
     "classes": [0]},
    {"id": "yard", "type": "intrusion", "polygon": [[100, 0], [220, 0], [220, 240], [100, 240]],
     "classes": [0]},
    {"id": "lobby", "type": "crowding", "polygon": [[0, 0], [320, 0], [320, 240], [0, 240]],
     "max_count": 3, "duration_s": 0.2}]}
})";

AnalyticsConfig config_of(const std::string& json) {
  auto c = parse_analytics_config(json);
  EXPECT_TRUE(c.is_ok()) << c.status().message();
  return c.is_ok() ? c.value() : AnalyticsConfig{};
}

std::unique_ptr<Analytics> make(const std::string& json) {
  auto a = Analytics::create(config_of(json));
  EXPECT_TRUE(a.is_ok()) << a.status().message();
  return a.is_ok() ? std::move(a).value() : nullptr;
}

// Detection runs on two frames of three; the third is predicted.
bool detect_on(int frame) { return frame % 3 != 2; }

void expect_same_tracks(const std::vector<TrackedObject>& a, const std::vector<TrackedObject>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].track_id, b[i].track_id);
    EXPECT_EQ(a[i].class_id, b[i].class_id);
    EXPECT_EQ(a[i].state, b[i].state);
    EXPECT_EQ(a[i].parent_track_id, b[i].parent_track_id);
    EXPECT_EQ(a[i].time_since_update, b[i].time_since_update);
    EXPECT_EQ(std::memcmp(&a[i].x1, &b[i].x1, 4 * sizeof(float)), 0) << "track " << a[i].track_id;
  }
}

void expect_same_events(const std::vector<Event>& a, const std::vector<Event>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_STREQ(a[i].channel, b[i].channel);
    EXPECT_STREQ(a[i].rule_id, b[i].rule_id);
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].track_id, b[i].track_id);
    EXPECT_EQ(a[i].timestamp_us, b[i].timestamp_us);
    EXPECT_EQ(a[i].start_us, b[i].start_us);
    EXPECT_EQ(a[i].count, b[i].count);
    EXPECT_EQ(a[i].best_shot_id, b[i].best_shot_id);
  }
}

void expect_same_shots(const std::vector<const BestShotRecord*>& a,
                       const std::vector<BestShotRecord>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]->track_id, b[i].track_id);
    EXPECT_EQ(a[i]->reason, b[i].reason);
    ASSERT_EQ(a[i]->crops.size(), b[i].crops.size());
    for (size_t k = 0; k < b[i].crops.size(); ++k) {
      const BestShotCrop& x = a[i]->crops[k];
      const BestShotCrop& y = b[i].crops[k];
      EXPECT_EQ(x.shot_id, y.shot_id);
      EXPECT_EQ(x.timestamp_us, y.timestamp_us);
      EXPECT_EQ(x.quality.total, y.quality.total);
      ASSERT_EQ(x.image.view.width, y.image.view.width);
      ASSERT_EQ(x.image.view.height, y.image.view.height);
      for (int r = 0; r < x.image.view.height; ++r) {
        EXPECT_EQ(std::memcmp(x.image.view.planes[0] + r * x.image.view.strides[0],
                              y.image.view.planes[0] + r * y.image.view.strides[0],
                              static_cast<size_t>(x.image.view.width) * 3),
                  0);
      }
    }
  }
}

TEST(Analytics, SameResultsAsTheModulesRunByHand) {
  const AnalyticsConfig cfg = config_of(kConfig);
  auto a = Analytics::create(cfg);
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  Analytics& an = *a.value();

  // The same modules, joined by hand.
  auto tracker = std::move(Tracker::create(cfg.tracker)).value();
  Associator assoc(*cfg.associator);
  auto sel = std::move(BestShotSelector::create(*cfg.best_shot)).value();
  RulesConfig rc = *cfg.rules;
  rc.channel = "cam1";
  auto rules = std::move(RulesEngine::create(rc)).value();
  auto lookup = [&](int64_t track_id) {
    int64_t id = -1;
    return sel->current_best(track_id, &id, nullptr) ? id : int64_t{-1};
  };

  std::map<std::string, int> seen;  // proves the scene exercises every module
  std::set<int64_t> confirmed, ended;
  AnalyticsOutput out;
  int64_t ts = 0;
  for (int f = 0; f < 70; ++f, ts += kFrameUs) {
    const Image img = frame_image(f);
    const ImageView view = img.view();
    const std::vector<Detection> dets = f < 60 ? detections(f) : std::vector<Detection>{};
    if (detect_on(f)) {
      ASSERT_TRUE(an.update(&view, dets.data(), dets.size(), ts, &out).is_ok());
      ASSERT_TRUE(tracker->update(dets.data(), dets.size(), ts).is_ok());
    } else {
      ASSERT_TRUE(an.predict(&view, ts, &out).is_ok());
      ASSERT_TRUE(tracker->predict(ts).is_ok());
    }
    std::vector<TrackedObject> objs = tracker->tracks();
    assoc.update(&objs);
    ASSERT_TRUE(sel->update(view, objs, ts).is_ok());
    ASSERT_TRUE(rules->update(objs, ts, lookup).is_ok());

    SCOPED_TRACE("frame " + std::to_string(f));
    expect_same_tracks(out.tracks, objs);
    expect_same_events(out.events, rules->events());
    expect_same_shots(out.best_shots, sel->records());

    // Track events, derived independently from the tracks.
    std::vector<TrackEvent> want_start, want_end;
    for (const TrackedObject& o : objs) {
      if (o.state == TrackState::kConfirmed && confirmed.insert(o.track_id).second)
        want_start.push_back({TrackEventKind::kStart, o.track_id, o.class_id, ts, ts});
      if (o.state == TrackState::kRemoved && confirmed.count(o.track_id) &&
          ended.insert(o.track_id).second)
        want_end.push_back({TrackEventKind::kEnd, o.track_id, o.class_id, ts, 0});
    }
    std::vector<TrackEvent> want = want_start;
    want.insert(want.end(), want_end.begin(), want_end.end());
    ASSERT_EQ(out.track_events.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(out.track_events[i].kind, want[i].kind);
      EXPECT_EQ(out.track_events[i].track_id, want[i].track_id);
      EXPECT_EQ(out.track_events[i].timestamp_us, ts);
    }

    for (const TrackedObject& o : objs) seen["parent"] += o.parent_track_id >= 0;
    for (const Event& e : rules->events()) {
      seen[event_kind_name(e.kind)] += 1;
      seen["event_with_shot"] += e.best_shot_id >= 0;
    }
    seen["shots"] += static_cast<int>(sel->records().size());
    seen["predicted"] += !detect_on(f) && !objs.empty();
  }
  ASSERT_TRUE(an.flush(ts, &out).is_ok());
  ASSERT_TRUE(sel->flush(ts).is_ok());
  ASSERT_TRUE(rules->flush(ts).is_ok());
  expect_same_events(out.events, rules->events());
  expect_same_shots(out.best_shots, sel->records());
  EXPECT_TRUE(out.tracks.empty());

  EXPECT_EQ(seen["cross_in"] + seen["cross_out"], 2) << "both long walkers cross the line";
  EXPECT_GT(seen["enter"], 0);
  EXPECT_GT(seen["exit"], 0);
  EXPECT_GT(seen["crowding_start"], 0);
  EXPECT_GT(seen["event_with_shot"], 0);
  EXPECT_GT(seen["parent"], 0);
  EXPECT_GT(seen["shots"], 0);
  EXPECT_GT(seen["predicted"], 0);
  EXPECT_GE(confirmed.size(), 6u);  // three bodies and three faces
  EXPECT_GT(ended.size(), 0u);
  auto counts = an.line_counts("door");
  ASSERT_TRUE(counts.is_ok());
  EXPECT_EQ(counts.value().in, rules->line_counts(0).in);
  EXPECT_EQ(counts.value().out, rules->line_counts(0).out);
  EXPECT_EQ(counts.value().in + counts.value().out, 2);
}

TEST(Analytics, PredictedFramesKeepIdsAndTakeNoCrops) {
  auto an = make(R"({"channel": "c", "tracker": {"min_hits": 1}, "best_shot": {"top_k": 3}})");
  ASSERT_TRUE(an);
  AnalyticsOutput out;
  const Image img = frame_image(1);
  const ImageView view = img.view();
  std::vector<Detection> d = detections(0);
  d.resize(1);  // one body, moving 4 px a frame to the right
  ASSERT_TRUE(an->update(&view, d.data(), 1, 0, &out).is_ok());
  ASSERT_EQ(out.tracks.size(), 1u);
  const int64_t id = out.tracks[0].track_id;
  d[0].x1 += 4, d[0].x2 += 4;
  ASSERT_TRUE(an->update(&view, d.data(), 1, kFrameUs, &out).is_ok());
  float last_x1 = out.tracks[0].x1;
  for (int f = 2; f <= 4; ++f) {
    ASSERT_TRUE(an->predict(&view, f * kFrameUs, &out).is_ok());
    ASSERT_EQ(out.tracks.size(), 1u);
    EXPECT_EQ(out.tracks[0].track_id, id);
    EXPECT_EQ(out.tracks[0].time_since_update, f - 1);
    EXPECT_GT(out.tracks[0].x1, last_x1) << "the box coasts on the track's velocity";
    last_x1 = out.tracks[0].x1;
  }
  // Back on a detection frame, the same id; then the track ends at flush with one crop only:
  // the predicted boxes never became crops.
  d[0].x1 += 12, d[0].x2 += 12;
  ASSERT_TRUE(an->update(&view, d.data(), 1, 5 * kFrameUs, &out).is_ok());
  EXPECT_EQ(out.tracks[0].track_id, id);
  ASSERT_TRUE(an->flush(6 * kFrameUs, &out).is_ok());
  ASSERT_EQ(out.best_shots.size(), 1u);
  EXPECT_EQ(out.best_shots[0]->reason, BestShotReason::kFlush);
  ASSERT_EQ(out.best_shots[0]->crops.size(), 3u);
  for (const BestShotCrop& c : out.best_shots[0]->crops)
    EXPECT_TRUE(c.timestamp_us <= kFrameUs || c.timestamp_us == 5 * kFrameUs) << c.timestamp_us;
}

TEST(Analytics, TrackStartAndEndEvents) {
  auto an = make(R"({"channel": "c", "tracker": {"min_hits": 3, "max_age": 2}})");
  ASSERT_TRUE(an);
  AnalyticsOutput out;
  std::vector<TrackEvent> all;
  Detection a;
  a.x1 = 10, a.y1 = 10, a.x2 = 50, a.y2 = 90, a.score = 0.9f;
  Detection blip = a;  // seen once, never confirmed
  blip.x1 = 200, blip.x2 = 240;
  int64_t ts = 0;
  for (int f = 0; f < 12; ++f, ts += kFrameUs) {
    std::vector<Detection> d;
    if (f < 6) d.push_back(a);
    if (f == 1) d.push_back(blip);
    ASSERT_TRUE(an->update(nullptr, d.data(), d.size(), ts, &out).is_ok());
    all.insert(all.end(), out.track_events.begin(), out.track_events.end());
    a.x1 += 2, a.x2 += 2;
  }
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].kind, TrackEventKind::kStart);
  EXPECT_EQ(all[0].timestamp_us, 2 * kFrameUs) << "confirmed after min_hits = 3 matches";
  EXPECT_EQ(all[1].kind, TrackEventKind::kEnd);
  EXPECT_EQ(all[1].track_id, all[0].track_id);
  EXPECT_EQ(all[1].start_us, 2 * kFrameUs);
  EXPECT_GT(all[1].timestamp_us, 6 * kFrameUs) << "removed after max_age missed frames";
  EXPECT_STREQ(track_event_kind_name(all[1].kind), "track_end");

  // A track still alive at the end of the stream ends at flush.
  for (int f = 0; f < 3; ++f, ts += kFrameUs)
    ASSERT_TRUE(an->update(nullptr, &a, 1, ts, &out).is_ok());
  ASSERT_EQ(out.track_events.size(), 1u);
  ASSERT_TRUE(an->flush(ts, &out).is_ok());
  ASSERT_EQ(out.track_events.size(), 1u);
  EXPECT_EQ(out.track_events[0].kind, TrackEventKind::kEnd);
  EXPECT_EQ(out.track_events[0].timestamp_us, ts);
}

TEST(Analytics, RulesReplacedWhileRunning) {
  auto an = make(R"({"channel": "cam9", "tracker": {"min_hits": 1}})");
  ASSERT_TRUE(an);
  AnalyticsOutput out;
  Detection d;
  d.y1 = 100, d.y2 = 140, d.score = 0.9f;
  int64_t ts = 0;
  // Each walk starts a new track at the left and crosses the frame in n frames.
  auto walk = [&](float from, float to, int n, std::vector<Event>* events) {
    for (int f = 0; f < n; ++f, ts += kFrameUs) {
      d.x1 = from + (to - from) * static_cast<float>(f) / static_cast<float>(n - 1);
      d.x2 = d.x1 + 80;
      ASSERT_TRUE(an->update(nullptr, &d, 1, ts, &out).is_ok());
      events->insert(events->end(), out.events.begin(), out.events.end());
    }
  };
  std::vector<Event> events;
  walk(10, 290, 15, &events);  // no rules yet: nothing to report
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(an->line_counts("door").status().code(), StatusCode::kNotFound);

  auto rules = parse_rules_config(R"({"rules": [{"id": "door", "type": "line_crossing",
      "line": [[160, 0], [160, 240]]}]})");
  ASSERT_TRUE(rules.is_ok());
  ASSERT_TRUE(an->update_rules(rules.value()).is_ok());
  walk(10, 290, 15, &events);  // a new track: the last one is lost at the far end
  ASSERT_EQ(events.size(), 1u);
  EXPECT_STREQ(events[0].channel, "cam9") << "the rules take the channel's name";
  EXPECT_STREQ(events[0].rule_id, "door");
  ASSERT_TRUE(an->line_counts("door").is_ok());
  EXPECT_EQ(an->line_counts("door").value().in + an->line_counts("door").value().out, 1);

  // A bad replacement keeps the running rules.
  RulesConfig other = rules.value();
  other.channel = "cam1";
  Status st = an->update_rules(other);
  EXPECT_EQ(st.code(), StatusCode::kInvalidConfig);
  EXPECT_NE(st.message().find("cam1"), std::string::npos) << st.message();
  RulesConfig broken = rules.value();
  broken.rules[0].b = broken.rules[0].a;
  EXPECT_FALSE(an->update_rules(broken).is_ok());
  EXPECT_TRUE(an->line_counts("door").is_ok());

  // Replaced: the old rule is gone and the new one counts from zero.
  auto zone = parse_rules_config(R"({"rules": [{"id": "yard", "type": "intrusion",
      "polygon": [[0, 0], [100, 0], [100, 240], [0, 240]]}]})");
  ASSERT_TRUE(an->update_rules(zone.value()).is_ok());
  EXPECT_EQ(an->line_counts("door").status().code(), StatusCode::kNotFound);
  events.clear();
  walk(10, 290, 15, &events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, EventKind::kEnter);
  EXPECT_EQ(events[1].kind, EventKind::kExit);
}

TEST(Analytics, LineCountLookupErrors) {
  auto an = make(kConfig);
  ASSERT_TRUE(an);
  auto missing = an->line_counts("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  auto zone = an->line_counts("yard");
  EXPECT_EQ(zone.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(zone.status().message().find("'yard' is a intrusion rule, not line_crossing"),
            std::string::npos)
      << zone.status().message();
  ASSERT_TRUE(an->line_counts("door").is_ok());
  EXPECT_EQ(an->line_counts("door").value().in, 0);
}

TEST(Analytics, NullFrameTakesNoCropsAndBadInputChangesNothing) {
  auto an = make(R"({"channel": "c", "tracker": {"min_hits": 1}, "best_shot": {}})");
  ASSERT_TRUE(an);
  AnalyticsOutput out;
  std::vector<Detection> d = detections(0);
  ASSERT_TRUE(an->update(nullptr, d.data(), 1, 0, &out).is_ok());
  ASSERT_EQ(out.tracks.size(), 1u);
  // A bad frame is refused before the tracker moves: the next frame is still frame 2.
  ImageView bad = ImageView::packed(PixelFormat::kBGR24, -4, 10, nullptr, 0);
  Status st = an->update(&bad, d.data(), 1, kFrameUs, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("analytics of channel 'c': frame", 0), 0u) << st.message();
  EXPECT_EQ(an->tracker().frame_count(), 1);
  // Bad detections: the tracker's error, with the channel named; the output is cleared.
  Detection nan_box = d[0];
  nan_box.x2 = nan_box.x1 - 5;
  st = an->update(nullptr, &nan_box, 1, kFrameUs, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("channel 'c'"), std::string::npos) << st.message();
  EXPECT_TRUE(out.tracks.empty());
  ASSERT_TRUE(an->flush(kFrameUs, &out).is_ok());
  EXPECT_TRUE(out.best_shots.empty()) << "no frame, no crop";
  EXPECT_EQ(an->update(nullptr, nullptr, 0, 0, nullptr).code(), StatusCode::kInvalidArgument);
}

std::string config_error(const std::string& json) {
  auto c = parse_analytics_config(json);
  EXPECT_FALSE(c.is_ok()) << json;
  return c.status().message();
}

TEST(AnalyticsConfig, ParsesEachModuleAndNamesTheField) {
  const AnalyticsConfig c = config_of(kConfig);
  EXPECT_EQ(c.channel, "cam1");
  EXPECT_EQ(c.tracker.max_age, 4);
  ASSERT_TRUE(c.best_shot && c.associator && c.rules);
  EXPECT_EQ(c.best_shot->top_k, 2);
  EXPECT_EQ(c.rules->channel, "cam1");
  ASSERT_EQ(c.rules->rules.size(), 3u);
  const AnalyticsConfig bare = config_of(R"({"channel": "x"})");
  EXPECT_FALSE(bare.best_shot || bare.associator || bare.rules);
  EXPECT_EQ(bare.tracker.type, TrackerType::kByteTrack);

  EXPECT_EQ(config_error(R"({"tracker": {}})"), "channel: missing");
  EXPECT_EQ(config_error(R"({"channel": "x", "colour": 1})"), "colour: unknown field");
  EXPECT_EQ(config_error(R"({"channel": "x", "tracker": {"min_hits": 0}})").rfind("tracker: ", 0),
            0u);
  EXPECT_NE(config_error(R"({"channel": "x", "tracker": {"min_hits": 0}})").find("min_hits"),
            std::string::npos);
  EXPECT_EQ(
      config_error(R"({"channel": "x", "best_shot": {"top_k": 0}})").rfind("best_shot: top_k", 0),
      0u);
  EXPECT_EQ(config_error(R"({"channel": "x", "associator": []})"),
            "associator: must be a JSON object, got []");
  EXPECT_EQ(config_error(R"({"channel": "x", "rules": {"rules": [{"id": "a", "type": "zone"}]}})")
                .rfind("rules: rules[0].type: unknown rule type 'zone'", 0),
            0u);
  EXPECT_EQ(config_error(R"({"channel": "x", "rules": {"channel": "y", "rules": []}})"),
            "rules.channel: 'y' differs from the channel 'x'");
  EXPECT_EQ(config_error("[1]"), "analytics config must be a JSON object");
}

}  // namespace
}  // namespace vas
