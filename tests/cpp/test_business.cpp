// Business rules on crafted tracks: line crossing with hysteresis, direction, segment extent,
// minimum age and id changes; intrusion with leave-and-return, removal and forgetting;
// loitering with gaps; crowding; config errors that name the field.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "business/rule_type.h"
#include "business/rules_config.h"
#include "business/rules_engine.h"

namespace vas {
namespace {

// A 20x20 box whose bottom centre is (x, y).
TrackedObject at(int64_t id, double x, double y, int cls = 0) {
  TrackedObject o;
  o.track_id = id;
  o.class_id = cls;
  o.score = 0.9f;
  o.x1 = static_cast<float>(x - 10);
  o.x2 = static_cast<float>(x + 10);
  o.y1 = static_cast<float>(y - 20);
  o.y2 = static_cast<float>(y);
  o.state = TrackState::kConfirmed;
  return o;
}

std::unique_ptr<RulesEngine> make(const std::string& json) {
  auto cfg = parse_rules_config(json);
  EXPECT_TRUE(cfg.is_ok()) << cfg.status().message();
  if (!cfg.is_ok()) return nullptr;
  auto eng = RulesEngine::create(cfg.value());
  EXPECT_TRUE(eng.is_ok()) << eng.status().message();
  return eng.is_ok() ? std::move(eng).value() : nullptr;
}

struct Log {
  std::vector<Event> all;
  void run(RulesEngine* e, const std::vector<TrackedObject>& objs, int64_t ts) {
    Status st = e->update(objs, ts);
    ASSERT_TRUE(st.is_ok()) << st.message();
    all.insert(all.end(), e->events().begin(), e->events().end());
  }
  int count(EventKind k) const {
    int n = 0;
    for (const Event& e : all) n += e.kind == k;
    return n;
  }
};

// Horizontal line y = 100 from x 0 to 200, drawn left to right: above it (y < 100) is its left.
const char* kLine = R"({"channel": "cam1", "rules": [{"id": "door", "type": "line_crossing",
    "line": [[0, 100], [200, 100]], "hysteresis": 5}]})";

TEST(LineCrossing, CountsInAndOutWithDirection) {
  auto e = make(kLine);
  ASSERT_TRUE(e);
  Log log;
  int64_t ts = 0;
  for (double y = 150; y >= 50; y -= 10) log.run(e.get(), {at(1, 100, y)}, ts += 40000);
  ASSERT_EQ(log.all.size(), 1u);
  const Event& ev = log.all[0];
  EXPECT_EQ(ev.kind, EventKind::kCrossIn);  // from below (right of a->b) to above (left)
  EXPECT_STREQ(ev.channel, "cam1");
  EXPECT_STREQ(ev.rule_id, "door");
  EXPECT_EQ(ev.track_id, 1);
  EXPECT_STREQ(ev.rule_type, "line_crossing");
  for (double y = 50; y <= 150; y += 10) log.run(e.get(), {at(1, 100, y)}, ts += 40000);
  EXPECT_EQ(log.count(EventKind::kCrossOut), 1);
  EXPECT_EQ(e->line_counts(0).in, 1);
  EXPECT_EQ(e->line_counts(0).out, 1);
}

TEST(LineCrossing, JitterNearTheLineIsNotCountedTwice) {
  auto e = make(kLine);
  Log log;
  int64_t ts = 0;
  // Approach from below, jitter +-4 px around the line for 40 frames, then leave above.
  log.run(e.get(), {at(1, 100, 130)}, ts += 40000);
  for (int f = 0; f < 40; ++f) log.run(e.get(), {at(1, 100, f % 2 ? 96 : 104)}, ts += 40000);
  EXPECT_TRUE(log.all.empty());
  log.run(e.get(), {at(1, 100, 90)}, ts += 40000);
  for (int f = 0; f < 40; ++f) log.run(e.get(), {at(1, 100, f % 2 ? 97 : 103)}, ts += 40000);
  log.run(e.get(), {at(1, 100, 70)}, ts += 40000);
  EXPECT_EQ(log.count(EventKind::kCrossIn), 1);
  EXPECT_EQ(log.count(EventKind::kCrossOut), 0);
  // Without hysteresis the same jitter counts every swing.
  auto raw = make(R"({"rules": [{"id": "d", "type": "line_crossing",
      "line": [[0, 100], [200, 100]], "hysteresis": 0}]})");
  Log noisy;
  for (int f = 0; f < 10; ++f) noisy.run(raw.get(), {at(1, 100, f % 2 ? 96 : 104)}, f * 40000);
  EXPECT_EQ(noisy.all.size(), 9u);
}

TEST(LineCrossing, OnlyInsideTheSegmentAndOldEnoughTracks) {
  auto e = make(R"({"rules": [{"id": "d", "type": "line_crossing", "min_track_age": 5,
      "line": [[0, 100], [200, 100]], "direction": "out"}]})");
  Log log;
  int64_t ts = 0;
  // Passes beside the segment's end (x = 300): no count.
  for (double y = 150; y >= 50; y -= 10) log.run(e.get(), {at(1, 300, y)}, ts += 40000);
  // A young track crosses on its 3rd frame: not counted.
  log.run(e.get(), {at(2, 100, 80)}, ts += 40000);
  log.run(e.get(), {at(2, 100, 90)}, ts += 40000);
  log.run(e.get(), {at(2, 100, 120)}, ts += 40000);
  EXPECT_EQ(e->line_counts(0).out, 0);
  // An old track crossing inward is counted but filtered by direction "out".
  for (double y = 150; y >= 50; y -= 10) log.run(e.get(), {at(3, 50, y)}, ts += 40000);
  EXPECT_EQ(e->line_counts(0).in, 1);
  EXPECT_TRUE(log.all.empty());
  for (double y = 50; y <= 150; y += 10) log.run(e.get(), {at(3, 50, y)}, ts += 40000);
  ASSERT_EQ(log.all.size(), 1u);
  EXPECT_EQ(log.all[0].kind, EventKind::kCrossOut);
}

TEST(LineCrossing, IdChangeAfterTheCrossingDoesNotCountAgain) {
  auto e = make(kLine);
  Log log;
  int64_t ts = 0;
  for (double y = 150; y >= 80; y -= 10) log.run(e.get(), {at(1, 100, y)}, ts += 40000);
  // The tracker loses the object and re-acquires it as track 2 just above the line; it
  // jitters there and leaves upward: still one crossing.
  for (int f = 0; f < 20; ++f) log.run(e.get(), {at(2, 100, f % 2 ? 93 : 99)}, ts += 40000);
  for (double y = 90; y >= 40; y -= 10) log.run(e.get(), {at(2, 100, y)}, ts += 40000);
  EXPECT_EQ(e->line_counts(0).in, 1);
  EXPECT_EQ(e->line_counts(0).out, 0);
}

const char* kZone = R"({"channel": "c", "forget_after_s": 1.0, "rules": [
    {"id": "yard", "type": "intrusion", "polygon": [[100, 100], [200, 100], [200, 200], [100, 200]],
     "classes": [0]}]})";

TEST(Intrusion, EnterExitAndLeaveAndReturn) {
  auto e = make(kZone);
  Log log;
  int64_t ts = 0;
  const double path[] = {50, 150, 150, 250, 150, 150, 50};
  for (double x : path) log.run(e.get(), {at(4, x, 150), at(5, x, 150, /*cls=*/2)}, ts += 100000);
  std::vector<EventKind> kinds;
  for (const Event& ev : log.all) {
    EXPECT_EQ(ev.track_id, 4);  // class 2 is filtered out
    kinds.push_back(ev.kind);
  }
  EXPECT_EQ(kinds, (std::vector<EventKind>{EventKind::kEnter, EventKind::kExit, EventKind::kEnter,
                                           EventKind::kExit}));
  EXPECT_EQ(log.all[1].start_us, 200000);  // exit carries the enter time
  EXPECT_EQ(log.all[1].timestamp_us, 400000);
}

TEST(Intrusion, RemovedForgottenAndFlushedTracksExit) {
  auto e = make(kZone);
  Log log;
  log.run(e.get(), {at(1, 150, 150), at(2, 120, 150), at(3, 180, 150)}, 0);
  EXPECT_EQ(log.count(EventKind::kEnter), 3);
  TrackedObject removed = at(1, 150, 150);
  removed.state = TrackState::kRemoved;
  TrackedObject lost = at(3, 180, 150);
  lost.state = TrackState::kLost;  // not visible, but not gone yet
  log.run(e.get(), {removed, at(2, 120, 150), lost}, 100000);
  ASSERT_EQ(log.count(EventKind::kExit), 1);
  EXPECT_EQ(log.all.back().track_id, 1);
  // Track 3 is unseen for more than forget_after_s (1 s): it exits.
  log.run(e.get(), {at(2, 120, 150)}, 1000000);
  EXPECT_EQ(log.count(EventKind::kExit), 1);
  log.run(e.get(), {at(2, 120, 150)}, 1100001);
  ASSERT_EQ(log.count(EventKind::kExit), 2);
  EXPECT_EQ(log.all.back().track_id, 3);
  ASSERT_TRUE(e->flush(1200000).is_ok());
  ASSERT_EQ(e->events().size(), 1u);
  EXPECT_EQ(e->events()[0].track_id, 2);
  EXPECT_EQ(e->events()[0].kind, EventKind::kExit);
}

TEST(Loitering, DwellThresholdGapsAndReturns) {
  auto e = make(R"({"rules": [{"id": "bench", "type": "loitering", "dwell_s": 1.0, "gap_s": 0.3,
      "polygon": [[100, 100], [200, 100], [200, 200], [100, 200]]}]})");
  Log log;
  int64_t ts = 0;
  // Inside 0..0.8 s, out for 0.2 s (a gap under gap_s), back in: the dwell keeps running.
  for (int f = 0; f <= 8; ++f) log.run(e.get(), {at(1, 150, 150)}, ts = f * 100000);
  log.run(e.get(), {at(1, 250, 150)}, ts = 900000);
  log.run(e.get(), {at(1, 250, 150)}, ts = 1000000);
  EXPECT_TRUE(log.all.empty());
  log.run(e.get(), {at(1, 150, 150)}, ts = 1100000);
  ASSERT_EQ(log.all.size(), 1u);
  EXPECT_EQ(log.all[0].kind, EventKind::kLoitering);
  EXPECT_EQ(log.all[0].start_us, 0);
  for (int f = 12; f <= 20; ++f) log.run(e.get(), {at(1, 150, 150)}, f * 100000);
  EXPECT_EQ(log.all.size(), 1u);  // reported once per stay
  // Leaves for 0.5 s (longer than gap_s) and comes back: a new stay, reported after 1 s.
  for (int f = 21; f <= 25; ++f) log.run(e.get(), {at(1, 300, 150)}, f * 100000);
  for (int f = 26; f <= 35; ++f) log.run(e.get(), {at(1, 150, 150)}, f * 100000);
  EXPECT_EQ(log.all.size(), 1u);
  log.run(e.get(), {at(1, 150, 150)}, 3600000);
  ASSERT_EQ(log.all.size(), 2u);
  EXPECT_EQ(log.all[1].start_us, 2600000);
}

TEST(Crowding, OccupancyAboveNForTSeconds) {
  auto e = make(R"({"rules": [{"id": "lobby", "type": "crowding", "max_count": 2,
      "duration_s": 0.5, "polygon": [[0, 0], [400, 0], [400, 400], [0, 400]]}]})");
  Log log;
  auto people = [](int n) {
    std::vector<TrackedObject> v;
    for (int i = 0; i < n; ++i) v.push_back(at(i + 1, 50 + 40 * i, 200));
    return v;
  };
  log.run(e.get(), people(3), 0);
  log.run(e.get(), people(2), 200000);  // dips: the timer restarts
  log.run(e.get(), people(3), 300000);
  log.run(e.get(), people(4), 700000);
  EXPECT_TRUE(log.all.empty());
  log.run(e.get(), people(3), 800000);
  ASSERT_EQ(log.all.size(), 1u);
  EXPECT_EQ(log.all[0].kind, EventKind::kCrowdingStart);
  EXPECT_EQ(log.all[0].start_us, 300000);
  EXPECT_EQ(log.all[0].count, 3);
  EXPECT_EQ(log.all[0].track_id, -1);
  log.run(e.get(), people(5), 900000);
  EXPECT_EQ(log.all.size(), 1u);
  log.run(e.get(), people(1), 1000000);
  ASSERT_EQ(log.all.size(), 2u);
  EXPECT_EQ(log.all[1].kind, EventKind::kCrowdingEnd);
  EXPECT_EQ(log.all[1].count, 1);
}

TEST(Rules, BestShotLookupAndTimestampOrder) {
  auto e = make(kZone);
  ASSERT_TRUE(e->update({at(9, 150, 150)}, 100, [](int64_t id) { return id * 10; }).is_ok());
  ASSERT_EQ(e->events().size(), 1u);
  EXPECT_EQ(e->events()[0].best_shot_id, 90);
  Status st = e->update({}, 50);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("before the previous"), std::string::npos) << st.message();
}

std::string error_of(const std::string& json) {
  auto c = parse_rules_config(json);
  EXPECT_FALSE(c.is_ok()) << json;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidConfig);
  return c.status().message();
}

TEST(RulesConfig, ErrorsNameTheOffendingField) {
  const std::string sq = "[[0, 0], [10, 0], [10, 10], [0, 10]]";
  const std::string ok = R"({"id": "a", "type": "intrusion", "polygon": )" + sq + "}";
  EXPECT_EQ(
      error_of(R"({"rules": [)" + ok + "," + ok + "," +
               R"({"id": "c", "type": "intrusion", "polygon": [[0,0],[10,10],[10,0],[0,10]]}]})")
          .rfind("rules[1].id: duplicate", 0),
      0u);
  EXPECT_EQ(
      error_of(R"({"rules": [)" + ok +
               R"(, {"id": "b", "type": "zone", "polygon": [[0,0],[10,10],[10,0],[0,10]]},
                       {"id": "c", "type": "intrusion", "polygon": [[0,0],[10,10],[10,0],[0,10]]}]})"),
      "rules[1].type: unknown rule type 'zone' (line_crossing, intrusion, loitering, crowding)");
  EXPECT_EQ(error_of(R"({"rules": [)" + ok + R"(, {"id": "b", "type": "loitering", "dwell_s": 1,
                       "polygon": )" +
                     sq + R"(}, {"id": "c", "type": "intrusion",
                       "polygon": [[0,0],[10,10],[10,0],[0,10]]}]})")
                .rfind("rules[2].polygon: self-intersecting", 0),
            0u);
  EXPECT_EQ(
      error_of(R"({"rules": [{"id": "l", "type": "line_crossing", "line": [[5, 5], [5, 5]]}]})"),
      "rules[0].line: zero-length line");
  EXPECT_EQ(error_of(R"({"rules": [{"id": "l", "type": "line_crossing", "line": [[5, 5]]}]})"),
            "rules[0].line: needs exactly 2 points, got 1");
  EXPECT_EQ(error_of(R"({"rules": [{"id": "l", "type": "line_crossing", "line": [[0, 0], [1, 1]],
                       "dwell_s": 3}]})"),
            "rules[0].dwell_s: unknown field for rule type 'line_crossing'");
  EXPECT_EQ(error_of(R"({"rules": [{"id": "z", "type": "loitering", "polygon": )" + sq + "}]}"),
            "rules[0].dwell_s: missing");
  EXPECT_EQ(error_of(R"({"rules": [{"id": "z", "type": "loitering", "dwell_s": -1, "polygon": )" +
                     sq + "}]}")
                .rfind("rules[0].dwell_s: must be > ", 0),
            0u);
  EXPECT_EQ(error_of(R"({"rules": [{"id": "z", "type": "crowding", "max_count": 1.5, "polygon": )" +
                     sq + "}]}")
                .rfind("rules[0].max_count: must be an integer", 0),
            0u);
  EXPECT_EQ(error_of(R"({"rules": [{"type": "intrusion", "polygon": )" + sq + "}]}"),
            "rules[0].id: missing");
  EXPECT_EQ(error_of(R"({"rules": [{"id": "z", "type": "intrusion", "polygon": [[0, 0], [1]]}]})"),
            "rules[0].polygon[1]: must be [x, y], got [1]");
  EXPECT_EQ(
      error_of(R"({"rules": [{"id": "z", "type": "intrusion", "anchor": "feet", "polygon": )" + sq +
               "}]}")
          .rfind("rules[0].anchor:", 0),
      0u);
  EXPECT_EQ(error_of(R"({"rules": [], "colour": 1})"), "colour: unknown field");
  EXPECT_EQ(error_of(R"({"channel": "x"})"), "rules: missing");
  EXPECT_EQ(error_of("not json").rfind("rules config is not valid JSON", 0), 0u);
}

TEST(RuleTypes, RegisteredByName) {
  EXPECT_EQ(rule_type_names(), "line_crossing, intrusion, loitering, crowding");
  for (const char* name : {"line_crossing", "intrusion", "loitering", "crowding"}) {
    const RuleTypeInfo* t = find_rule_type(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_STREQ(t->name, name);
  }
  EXPECT_EQ(find_rule_type("zone"), nullptr);
  EXPECT_EQ(find_rule_type(""), nullptr);
}

TEST(RuleTypes, ConfigsBuiltInCodeAreChecked) {
  auto parsed = parse_rules_config(R"({"rules": [{"id": "d", "type": "line_crossing",
      "line": [[0, 100], [200, 100]]}, {"id": "z", "type": "loitering", "dwell_s": 1,
      "polygon": [[0, 0], [10, 0], [10, 10]]}]})");
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed.value().rules[0].shape.size(), 2u);
  EXPECT_EQ(parsed.value().rules[1].shape.size(), 3u);

  RulesConfig c = parsed.value();
  c.rules[1].type = "door";
  auto e = RulesEngine::create(c);
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(
      e.status().message().rfind("rules[1].type: unknown rule type 'door' (line_crossing,", 0), 0u)
      << e.status().message();
  // A loitering rule given a line's parameters, and one given none.
  c = parsed.value();
  c.rules[1].params = c.rules[0].params;
  e = RulesEngine::create(c);
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(e.status().message().rfind("rules[1]: parameters missing", 0), 0u)
      << e.status().message();
  c.rules[1].params = nullptr;
  EXPECT_FALSE(RulesEngine::create(c).is_ok());
  // Bad geometry names the field, as the parser does.
  c = parsed.value();
  c.rules[0].shape.push_back({5, 5});
  EXPECT_EQ(RulesEngine::create(c).status().message(),
            "rules[0].line: needs exactly 2 points, got 3");
  c = parsed.value();
  c.rules[1].shape.pop_back();
  EXPECT_EQ(RulesEngine::create(c).status().message().rfind("rules[1].polygon:", 0), 0u);
  // An intrusion needs no parameters beyond its polygon.
  c = parsed.value();
  c.rules[1].type = "intrusion";
  c.rules[1].params = nullptr;
  EXPECT_TRUE(RulesEngine::create(c).is_ok());
}

TEST(Rules, LineCountsByRuleId) {
  auto e = make(R"({"channel": "cam1", "rules": [{"id": "door", "type": "line_crossing",
      "line": [[0, 100], [200, 100]]}, {"id": "yard", "type": "intrusion",
      "polygon": [[0, 0], [10, 0], [10, 10]]}]})");
  ASSERT_TRUE(e);
  Log log;
  for (int f = 0; f < 10; ++f) log.run(e.get(), {at(1, 100, 150 - 10 * f)}, f * 40000);
  auto c = e->line_counts("door");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c.value().in, 1);
  EXPECT_EQ(c.value().out, 0);
  EXPECT_EQ(e->line_counts("yard").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e->line_counts("yard").status().message(),
            "rule 'yard' has type intrusion, not line_crossing");
  EXPECT_EQ(e->line_counts("gate").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(e->line_counts("gate").status().message(), "no rule with id 'gate' in channel 'cam1'");
}

TEST(Rules, ReconfigureKeepsTheStateOfUnchangedRules) {
  const std::string zone = R"({"id": "yard", "type": "intrusion",
      "polygon": [[100, 100], [200, 100], [200, 200], [100, 200]]})";
  const std::string line = R"({"id": "door", "type": "line_crossing",
      "line": [[0, 100], [300, 100]]})";
  auto e = make(R"({"channel": "c", "rules": [)" + zone + "," + line + "]}");
  ASSERT_TRUE(e);
  Log log;
  int64_t ts = 0;
  for (double y = 50; y <= 150; y += 25) log.run(e.get(), {at(1, 150, y)}, ts += 40000);
  ASSERT_EQ(log.count(EventKind::kEnter), 1);
  ASSERT_EQ(e->line_counts("door").value().out, 1);

  // The same zone and line in another order plus a new rule: the track stays inside (no second
  // enter), the count goes on, and events name the rules by their new indices.
  const std::string lobby = R"({"id": "lobby", "type": "intrusion",
      "polygon": [[0, 0], [300, 0], [300, 300], [0, 300]]})";
  auto next =
      parse_rules_config(R"({"channel": "c", "rules": [)" + lobby + "," + line + "," + zone + "]}");
  ASSERT_TRUE(next.is_ok());
  ASSERT_TRUE(e->reconfigure(next.value()).is_ok());
  EXPECT_TRUE(e->events().empty());
  log.all.clear();
  log.run(e.get(), {at(1, 150, 160)}, ts += 40000);
  ASSERT_EQ(log.all.size(), 1u);
  EXPECT_STREQ(log.all[0].rule_id, "lobby");  // new: the track enters it
  EXPECT_EQ(e->line_counts("door").value().out, 1);
  log.run(e.get(), {at(1, 150, 250)}, ts += 40000);
  ASSERT_EQ(log.all.size(), 2u);
  EXPECT_EQ(log.all[1].kind, EventKind::kExit);  // the kept zone still knew the track was inside
  EXPECT_STREQ(log.all[1].rule_id, "yard");
  EXPECT_EQ(log.all[1].rule_index, 2);

  // A changed zone starts fresh; a bad config changes nothing.
  auto moved = parse_rules_config(R"({"channel": "c", "rules": [{"id": "yard",
      "type": "intrusion", "polygon": [[100, 200], [200, 200], [200, 300], [100, 300]]}]})");
  ASSERT_TRUE(e->reconfigure(moved.value()).is_ok());
  EXPECT_EQ(e->line_counts("door").status().code(), StatusCode::kNotFound);
  RulesConfig bad = moved.value();
  bad.rules[0].shape.resize(2);
  EXPECT_FALSE(e->reconfigure(bad).is_ok());
  log.all.clear();
  log.run(e.get(), {at(1, 150, 250)}, ts += 40000);
  ASSERT_EQ(log.all.size(), 1u);
  EXPECT_EQ(log.all[0].kind, EventKind::kEnter);
}

}  // namespace
}  // namespace vas
