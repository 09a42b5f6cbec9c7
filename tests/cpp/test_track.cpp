// Tracking: assignment against brute force, Kalman behaviour, SORT/ByteTrack lifecycle, ids,
// per-class matching, frame skipping, config and input errors, steady-state allocations.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <new>
#include <random>
#include <set>
#include <vector>

#include "core/assignment.h"
#include "test_util.h"
#include "track/kalman.h"
#include "track/tracker.h"

// Counts heap allocations so the steady-state test can prove the tracker does not allocate.
// Not installed under the sanitizers, which bring their own allocator.
#if defined(VAS_TEST_ASAN)
#define VAS_TEST_COUNT_ALLOCS 0
#endif
#ifndef VAS_TEST_COUNT_ALLOCS
#define VAS_TEST_COUNT_ALLOCS 1
#endif

namespace {
[[maybe_unused]] std::atomic<long> g_allocs{0};
}

#if VAS_TEST_COUNT_ALLOCS
// GCC cannot see that these replace the global pair and warns about malloc/free pairing.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace vas {
namespace {

// ---- assignment ---------------------------------------------------------------------------

double brute_force_full(const std::vector<double>& cost, int rows, int cols) {
  std::vector<int> perm(cols);
  for (int i = 0; i < cols; ++i) perm[i] = i;
  double best = std::numeric_limits<double>::infinity();
  // Every injective map rows -> cols appears as the first `rows` entries of a permutation.
  do {
    double s = 0;
    for (int r = 0; r < rows; ++r) s += cost[r * cols + perm[r]];
    best = std::min(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

// Best sum(limit - cost) over partial matchings that use only pairs with cost < limit.
double brute_force_gated(const std::vector<float>& cost, int rows, int cols, float limit) {
  std::vector<char> used(cols, 0);
  std::function<double(int)> rec = [&](int r) -> double {
    if (r == rows) return 0.0;
    double best = rec(r + 1);  // row r unmatched
    for (int c = 0; c < cols; ++c) {
      const float x = cost[r * cols + c];
      if (used[c] || !(x < limit)) continue;
      used[c] = 1;
      best = std::max(best, static_cast<double>(limit) - x + rec(r + 1));
      used[c] = 0;
    }
    return best;
  };
  return rec(0);
}

TEST(Assignment, HungarianMatchesBruteForceOnRandomMatrices) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-5.0, 10.0);
  HungarianWorkspace ws;
  for (int trial = 0; trial < 300; ++trial) {
    const int rows = 1 + trial % 6;
    const int cols = rows + (trial / 6) % 3;
    std::vector<double> cost(rows * cols);
    for (double& c : cost) c = trial % 4 == 0 ? std::round(u(rng)) : u(rng);  // ties too
    std::vector<int> assign(rows, -1);
    const double got = hungarian(cost.data(), rows, cols, assign.data(), &ws);
    std::set<int> distinct(assign.begin(), assign.end());
    ASSERT_EQ(static_cast<int>(distinct.size()), rows);
    double sum = 0;
    for (int r = 0; r < rows; ++r) {
      ASSERT_GE(assign[r], 0);
      ASSERT_LT(assign[r], cols);
      sum += cost[r * cols + assign[r]];
    }
    EXPECT_NEAR(got, sum, 1e-9);
    EXPECT_NEAR(got, brute_force_full(cost, rows, cols), 1e-9) << "trial " << trial;
  }
}

TEST(Assignment, GatedSolverMatchesBruteForce) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  AssignmentSolver solver;
  std::vector<int> rm, cm;
  for (int trial = 0; trial < 400; ++trial) {
    const int rows = 1 + trial % 6, cols = 1 + (trial / 6) % 6;
    const float limit = 0.3f + 0.1f * static_cast<float>(trial % 5);
    std::vector<float> cost(rows * cols);
    for (float& c : cost) c = u(rng) < 0.5f ? 1.0f : u(rng);  // sparse like IoU costs
    solver.solve(cost.data(), rows, cols, limit, &rm, &cm);
    double got = 0;
    std::set<int> cols_used;
    for (int r = 0; r < rows; ++r) {
      if (rm[r] < 0) continue;
      ASSERT_LT(cost[r * cols + rm[r]], limit);
      ASSERT_EQ(cm[rm[r]], r);
      ASSERT_TRUE(cols_used.insert(rm[r]).second);
      got += limit - cost[r * cols + rm[r]];
    }
    for (int c = 0; c < cols; ++c) {
      if (cm[c] >= 0) {
        ASSERT_EQ(rm[cm[c]], c);
      }
    }
    EXPECT_NEAR(got, brute_force_gated(cost, rows, cols, limit), 1e-5) << "trial " << trial;
  }
}

TEST(Assignment, EmptyAndAllBlocked) {
  AssignmentSolver solver;
  std::vector<int> rm, cm;
  solver.solve(nullptr, 0, 3, 0.5f, &rm, &cm);
  EXPECT_TRUE(rm.empty());
  EXPECT_EQ(cm, std::vector<int>(3, -1));
  const std::vector<float> cost = {0.9f, 0.7f, std::nanf(""), 0.5f};
  solver.solve(cost.data(), 2, 2, 0.5f, &rm, &cm);
  EXPECT_EQ(rm, std::vector<int>(2, -1));
  EXPECT_EQ(cm, std::vector<int>(2, -1));
}

// ---- Kalman -------------------------------------------------------------------------------

TEST(Kalman, ConstantVelocityIsLearned) {
  for (int model = 0; model < 2; ++model) {
    SortMotion::State s7;
    XyahMotion::State s8;
    const auto box_at = [](int k) {
      return BoxF{100.0f + 4.0f * k, 50.0f + 2.0f * k, 150.0f + 4.0f * k, 150.0f + 2.0f * k};
    };
    if (model == 0) SortMotion::initiate(box_at(0), &s7);
    if (model == 1) XyahMotion::initiate(box_at(0), &s8);
    for (int k = 1; k < 30; ++k) {
      if (model == 0) {
        SortMotion::predict(&s7);
        SortMotion::update(box_at(k), &s7);
      } else {
        XyahMotion::predict(&s8);
        XyahMotion::update(box_at(k), &s8);
      }
    }
    // Five frames of coasting land where the object is.
    for (int k = 30; k < 35; ++k) {
      if (model == 0) SortMotion::predict(&s7);
      if (model == 1) XyahMotion::predict(&s8);
    }
    const BoxF b = model == 0 ? SortMotion::box(s7) : XyahMotion::box(s8);
    const BoxF want = box_at(34);
    EXPECT_NEAR(b.x1, want.x1, 1.0) << "model " << model;
    EXPECT_NEAR(b.y1, want.y1, 1.0) << "model " << model;
    EXPECT_NEAR(b.x2, want.x2, 1.0) << "model " << model;
    EXPECT_NEAR(b.y2, want.y2, 1.0) << "model " << model;
  }
}

template <typename Motion>
void expect_fast_path_matches_reference(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 2.0f);
  BoxF b{200, 100, 250, 220};
  typename Motion::State fast, ref;
  Motion::initiate(b, &fast);
  Motion::initiate(b, &ref);
  for (int k = 1; k < 80; ++k) {
    Motion::predict(&fast);
    Motion::predict_reference(&ref);
    if (k % 6 != 0) {
      b = {b.x1 + 3 + n(rng), b.y1 + 1 + n(rng), b.x2 + 3 + n(rng), b.y2 + 1 + n(rng)};
      Motion::update(b, &fast);
      Motion::update_reference(b, &ref);
    }
    const double scale = 1.0 + ref.P.cwiseAbs().maxCoeff();
    ASSERT_LT((fast.x - ref.x).cwiseAbs().maxCoeff(), 1e-9 * (1.0 + ref.x.cwiseAbs().maxCoeff()))
        << "step " << k;
    ASSERT_LT((fast.P - ref.P).cwiseAbs().maxCoeff(), 1e-9 * scale) << "step " << k;
  }
}

TEST(Kalman, StructuredStepsMatchTheDenseReference) {
  for (uint32_t seed = 0; seed < 5; ++seed) {
    expect_fast_path_matches_reference<SortMotion>(seed);
    expect_fast_path_matches_reference<XyahMotion>(seed);
  }
}

// ---- trackers -----------------------------------------------------------------------------

Detection det(float x, float y, float w = 40, float h = 80, float score = 0.9f, int cls = 0) {
  Detection d;
  d.x1 = x;
  d.y1 = y;
  d.x2 = x + w;
  d.y2 = y + h;
  d.score = score;
  d.class_id = cls;
  return d;
}

std::unique_ptr<Tracker> make(const std::string& json) {
  auto r = Tracker::create(json);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : nullptr;
}

class TrackerTypes : public ::testing::TestWithParam<const char*> {};

TEST_P(TrackerTypes, LifecycleTentativeConfirmedLostRemoved) {
  auto t = make(std::string(R"({"type":")") + GetParam() + R"(","min_hits":3,"max_age":4})");
  int64_t ts = 0;
  for (int k = 0; k < 3; ++k) {
    Detection d = det(100.0f + 3 * k, 100);
    ASSERT_TRUE(t->update(&d, 1, ts++).is_ok());
    ASSERT_EQ(t->tracks().size(), 1u);
    const TrackedObject& o = t->tracks()[0];
    EXPECT_EQ(o.track_id, 1);
    EXPECT_EQ(o.hits, k + 1);
    EXPECT_EQ(o.state, k < 2 ? TrackState::kTentative : TrackState::kConfirmed) << k;
    EXPECT_EQ(o.time_since_update, 0);
    EXPECT_FLOAT_EQ(o.score, 0.9f);
  }
  // Missed for max_age frames: lost, predicted, score 0.
  for (int k = 1; k <= 4; ++k) {
    ASSERT_TRUE(t->update(nullptr, 0, ts++).is_ok());
    ASSERT_EQ(t->tracks().size(), 1u);
    EXPECT_EQ(t->tracks()[0].state, TrackState::kLost);
    EXPECT_EQ(t->tracks()[0].time_since_update, k);
    EXPECT_EQ(t->tracks()[0].score, 0.0f);
  }
  // One more miss: reported once as removed, then gone.
  ASSERT_TRUE(t->update(nullptr, 0, ts++).is_ok());
  ASSERT_EQ(t->tracks().size(), 1u);
  EXPECT_EQ(t->tracks()[0].state, TrackState::kRemoved);
  ASSERT_TRUE(t->update(nullptr, 0, ts++).is_ok());
  EXPECT_TRUE(t->tracks().empty());
}

TEST_P(TrackerTypes, LostTrackIsRecoveredWithItsId) {
  auto t = make(std::string(R"({"type":")") + GetParam() + R"(","min_hits":2,"max_age":10})");
  int64_t ts = 0;
  for (int k = 0; k < 5; ++k) {
    Detection d = det(100.0f + 2 * k, 100);
    ASSERT_TRUE(t->update(&d, 1, ts++).is_ok());
  }
  for (int k = 5; k < 8; ++k) ASSERT_TRUE(t->update(nullptr, 0, ts++).is_ok());
  ASSERT_EQ(t->tracks()[0].state, TrackState::kLost);
  Detection d = det(116, 100);
  ASSERT_TRUE(t->update(&d, 1, ts++).is_ok());
  ASSERT_EQ(t->tracks().size(), 1u);
  EXPECT_EQ(t->tracks()[0].track_id, 1);
  EXPECT_EQ(t->tracks()[0].state, TrackState::kConfirmed);
}

TEST_P(TrackerTypes, TentativeTrackMissedIsRemoved) {
  auto t = make(std::string(R"({"type":")") + GetParam() + R"(","min_hits":3})");
  Detection d = det(100, 100);
  ASSERT_TRUE(t->update(&d, 1, 0).is_ok());
  ASSERT_TRUE(t->update(nullptr, 0, 1).is_ok());
  ASSERT_EQ(t->tracks().size(), 1u);
  EXPECT_EQ(t->tracks()[0].state, TrackState::kRemoved);
}

TEST_P(TrackerTypes, IdsAreNeverReusedAndPerInstance) {
  auto a = make(std::string(R"({"type":")") + GetParam() + R"(","min_hits":1,"max_age":0})");
  auto b = make(std::string(R"({"type":")") + GetParam() + R"(","min_hits":1})");
  std::set<int64_t> seen;
  int64_t ts = 0;
  for (int round = 0; round < 20; ++round) {
    // An object appears for two frames at a new place, then vanishes and is removed.
    Detection d = det(50.0f + 30 * round, 100);
    ASSERT_TRUE(a->update(&d, 1, ts).is_ok());
    ASSERT_TRUE(a->update(&d, 1, ts + 1).is_ok());
    ASSERT_EQ(a->tracks().size(), 1u);
    EXPECT_TRUE(seen.insert(a->tracks()[0].track_id).second) << "id reused";
    ASSERT_TRUE(a->update(nullptr, 0, ts + 2).is_ok());
    ASSERT_TRUE(a->update(nullptr, 0, ts + 3).is_ok());
    EXPECT_TRUE(a->tracks().empty());
    ts += 4;
  }
  EXPECT_EQ(*seen.begin(), 1);
  EXPECT_EQ(*seen.rbegin(), 20);
  // Another instance counts from 1 on its own.
  Detection d = det(10, 10);
  ASSERT_TRUE(b->update(&d, 1, 0).is_ok());
  EXPECT_EQ(b->tracks()[0].track_id, 1);
}

TEST_P(TrackerTypes, PerClassVersusAgnostic) {
  for (const bool per_class : {false, true}) {
    auto t = make(std::string(R"({"type":")") + GetParam() + R"(","min_hits":1,"per_class":)" +
                  (per_class ? "true" : "false") + "}");
    Detection d0 = det(100, 100, 40, 80, 0.9f, 0);
    Detection d1 = det(101, 100, 40, 80, 0.9f, 1);  // same place, other class
    ASSERT_TRUE(t->update(&d0, 1, 0).is_ok());
    ASSERT_TRUE(t->update(&d1, 1, 1).is_ok());
    if (per_class) {
      ASSERT_EQ(t->tracks().size(), 2u);
      EXPECT_EQ(t->tracks()[0].state, TrackState::kLost);
      EXPECT_EQ(t->tracks()[0].class_id, 0);
      EXPECT_EQ(t->tracks()[1].track_id, 2);
      EXPECT_EQ(t->tracks()[1].class_id, 1);
    } else {
      ASSERT_EQ(t->tracks().size(), 1u);
      EXPECT_EQ(t->tracks()[0].track_id, 1);
      EXPECT_EQ(t->tracks()[0].class_id, 1);  // follows the latest detection
    }
  }
}

TEST_P(TrackerTypes, FrameSkippingKeepsIdsThroughGaps) {
  // Two objects crossing paths at 3 px/frame, detection every 5th frame, prediction between.
  auto t = make(std::string(R"({"type":")") + GetParam() + R"(","min_hits":2,"max_age":3})");
  std::vector<int64_t> ids_a, ids_b;
  for (int f = 0; f < 100; ++f) {
    const float xa = 20.0f + 3.0f * f, xb = 320.0f - 3.0f * f;
    if (f % 5 == 0) {
      Detection d[2] = {det(xa, 100), det(xb, 160)};
      ASSERT_TRUE(t->update(d, 2, f * 40000).is_ok());
    } else {
      ASSERT_TRUE(t->predict(f * 40000).is_ok());
      // Coasting boxes follow the motion (after the velocity is learned).
      if (f > 30) {
        for (const TrackedObject& o : t->tracks()) {
          const float want = o.y1 < 130 ? xa : xb;
          EXPECT_NEAR(o.x1, want, 8.0f) << "frame " << f;
        }
      }
    }
    ASSERT_EQ(t->tracks().size(), 2u) << "frame " << f;
    for (const TrackedObject& o : t->tracks()) {
      EXPECT_NE(o.state, TrackState::kRemoved);
      EXPECT_NE(o.state, TrackState::kLost) << "a skipped frame is not a miss";
      (o.y1 < 130 ? ids_a : ids_b).push_back(o.track_id);
    }
  }
  EXPECT_EQ(std::set<int64_t>(ids_a.begin(), ids_a.end()).size(), 1u);
  EXPECT_EQ(std::set<int64_t>(ids_b.begin(), ids_b.end()).size(), 1u);
  EXPECT_EQ(t->frame_count(), 100);
}

TEST_P(TrackerTypes, BadInputLeavesTrackerUnchanged) {
  auto t = make(std::string(R"({"type":")") + GetParam() + R"(","min_hits":1})");
  Detection good = det(10, 10);
  ASSERT_TRUE(t->update(&good, 1, 100).is_ok());
  const auto expect_error = [&](Status st, const std::string& needle) {
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
    EXPECT_EQ(t->frame_count(), 1);
    ASSERT_EQ(t->tracks().size(), 1u);
    EXPECT_EQ(t->tracks()[0].time_since_update, 0);
  };
  Detection two[2] = {good, det(10, 10)};
  two[1].x2 = std::nanf("");
  expect_error(t->update(two, 2, 101), "detection 1 has a non-finite");
  two[1] = det(10, 10);
  two[1].x2 = 0;
  expect_error(t->update(two, 2, 101), "detection 1 has x2 < x1");
  two[1] = det(10, 10);
  two[1].score = std::numeric_limits<float>::infinity();
  expect_error(t->update(two, 2, 101), "non-finite box or score");
  two[1] = det(10, 10);
  two[1].num_landmarks = 7;
  expect_error(t->update(two, 2, 101), "num_landmarks 7");
  expect_error(t->update(nullptr, 3, 101), "detections is null but count is 3");
  expect_error(t->update(&good, 1, 99), "timestamp_us 99 is earlier than the previous frame's 100");
  expect_error(t->predict(50), "timestamp_us 50");
}

INSTANTIATE_TEST_SUITE_P(Track, TrackerTypes, ::testing::Values("sort", "bytetrack"));

TEST_P(TrackerTypes, ConfirmFirstFrameConfirmsOnlyTheFirstFramesTracks) {
  auto t = make(std::string(R"({"type":")") + GetParam() +
                R"(","min_hits":3,"confirm_first_frame":true})");
  Detection d = det(100, 100);
  ASSERT_TRUE(t->update(&d, 1, 0).is_ok());
  EXPECT_EQ(t->tracks()[0].state, TrackState::kConfirmed);
  Detection two[2] = {det(102, 100), det(400, 100)};
  ASSERT_TRUE(t->update(two, 2, 1).is_ok());
  ASSERT_EQ(t->tracks().size(), 2u);
  EXPECT_EQ(t->tracks()[1].state, TrackState::kTentative);
}

TEST(ByteTrack, LowScoreDetectionsKeepTracksButNeverStartThem) {
  auto t = make(
      R"({"type":"bytetrack","min_hits":1,"track_thresh":0.5,"low_thresh":0.1,"high_thresh":0.6})");
  Detection d = det(100, 100);
  ASSERT_TRUE(t->update(&d, 1, 0).is_ok());
  // A weak detection of the same object keeps the track confirmed...
  Detection weak = det(102, 100, 40, 80, 0.3f);
  ASSERT_TRUE(t->update(&weak, 1, 1).is_ok());
  ASSERT_EQ(t->tracks().size(), 1u);
  EXPECT_EQ(t->tracks()[0].state, TrackState::kConfirmed);
  EXPECT_EQ(t->tracks()[0].time_since_update, 0);
  // ...but weak detections elsewhere start nothing, and high ones below high_thresh neither.
  Detection others[2] = {det(400, 100, 40, 80, 0.3f), det(600, 100, 40, 80, 0.55f)};
  ASSERT_TRUE(t->update(others, 2, 2).is_ok());
  ASSERT_EQ(t->tracks().size(), 1u);
  EXPECT_EQ(t->tracks()[0].state, TrackState::kLost);
}

TEST(Sort, MinScoreIgnoresWeakDetections) {
  auto t = make(R"({"type":"sort","min_hits":1,"min_score":0.5})");
  Detection d[2] = {det(100, 100, 40, 80, 0.4f), det(300, 100, 40, 80, 0.6f)};
  ASSERT_TRUE(t->update(d, 2, 0).is_ok());
  ASSERT_EQ(t->tracks().size(), 1u);
  EXPECT_FLOAT_EQ(t->tracks()[0].x1, 300.0f);
}

TEST(TrackerConfig, DefaultsAndTypes) {
  auto bt = parse_tracker_config("");
  ASSERT_TRUE(bt.is_ok());
  EXPECT_EQ(bt->type, TrackerType::kByteTrack);
  EXPECT_EQ(bt->min_hits, 2);
  auto s = parse_tracker_config(R"({"type":"sort","max_age":5,"iou_threshold":0.4})");
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s->type, TrackerType::kSort);
  EXPECT_EQ(s->min_hits, 3);
  EXPECT_EQ(s->max_age, 5);
  EXPECT_FLOAT_EQ(s->iou_threshold, 0.4f);
}

TEST(TrackerConfig, BadConfigErrorsNameTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"type":"bytetrack","trak_thresh":0.5})", "tracker.trak_thresh: unknown field"},
      {R"({"type":"deepsort"})",
       "tracker.type: expected one of 'sort', 'bytetrack', got 'deepsort'"},
      {R"({"type":7})", "tracker.type: expected a string, got 7"},
      {R"({"min_hits":0})", "tracker.min_hits: expected an integer in 1..1000000, got 0"},
      {R"({"min_hits":1.5})", "tracker.min_hits: expected an integer in 1..1000000, got 1.5"},
      {R"({"max_age":-1})", "tracker.max_age: expected an integer in 0..1000000, got -1"},
      {R"({"per_class":"yes"})", "tracker.per_class: expected true or false, got \"yes\""},
      {R"({"confirm_first_frame":1})",
       "tracker.confirm_first_frame: expected true or false, got 1"},
      {R"({"match_thresh":1.5})", "tracker.match_thresh: expected a number in [0, 1], got 1.5"},
      {R"({"track_thresh":"high"})",
       "tracker.track_thresh: expected a number in [0, 1], got \"high\""},
      {R"({"type":"sort","track_thresh":0.5})",
       "tracker.track_thresh: does not apply to type 'sort'"},
      {R"({"iou_threshold":0.3})", "tracker.iou_threshold: does not apply to type 'bytetrack'"},
      {R"({"track_thresh":0.2,"low_thresh":0.3})", "tracker.low_thresh: must not exceed"},
      {R"({"type":"sort",)", "tracker config is not valid JSON at line 1, column 16"},
      {R"([1,2])", "expected a JSON object"},
  };
  for (const auto& [json, needle] : cases) {
    auto r = Tracker::create(json);
    ASSERT_FALSE(r.is_ok()) << json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig) << json;
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
        << json << " -> " << r.status().message();
  }
}

TEST(TrackerPerf, SteadyStateDoesNotAllocate) {
#if !VAS_TEST_COUNT_ALLOCS
  GTEST_SKIP() << "allocation counting is off under the sanitizers";
#else
  for (const char* type : {"sort", "bytetrack"}) {
    const long at_start = g_allocs.load();
    auto t = make(std::string(R"({"type":")") + type + R"(","min_hits":1})");
    std::vector<Detection> dets;
    for (int i = 0; i < 50; ++i) dets.push_back(det(30.0f * i, 10.0f * (i % 7), 20, 40));
    const auto step = [&](int f) {
      for (int i = 0; i < 50; ++i) {
        dets[i].x1 = 30.0f * i + f;
        dets[i].x2 = dets[i].x1 + 20;
      }
      ASSERT_TRUE(t->update(dets.data(), dets.size(), f).is_ok());
    };
    for (int f = 0; f < 20; ++f) step(f);
    EXPECT_GT(g_allocs.load(), at_start) << "the allocation counter is not installed";
    const long before = g_allocs.load();
    for (int f = 20; f < 120; ++f) step(f);
    EXPECT_EQ(g_allocs.load() - before, 0) << type;
    EXPECT_EQ(t->tracks().size(), 50u);
  }
#endif
}

}  // namespace
}  // namespace vas
