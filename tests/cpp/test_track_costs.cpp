// Tracking costs beyond IoU: the centre-distance (DIoU) term and its position gate, appearance
// embeddings with their moving average and cosine gate, their config and input errors. Each
// scenario is first shown to fail with IoU alone, so the tests prove the extra cost matters.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"
#include "track/tracker.h"

// Counts heap allocations (as in test_track.cpp); off under the sanitizers' allocators.
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

Detection det(float x, float y, float w = 40, float h = 80, float score = 0.9f) {
  Detection d;
  d.x1 = x;
  d.y1 = y;
  d.x2 = x + w;
  d.y2 = y + h;
  d.score = score;
  return d;
}

std::unique_ptr<Tracker> make(const std::string& type, const std::string& extra) {
  auto r = Tracker::create(R"({"type":")" + type + R"(")" + extra + "}");
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : nullptr;
}

// Ids of the fresh (matched this frame) tracks whose box centre is nearest to x, or -1.
int64_t id_near(const Tracker& t, float cx) {
  int64_t id = -1;
  float best = std::numeric_limits<float>::max();
  for (const TrackedObject& o : t.tracks()) {
    if (o.time_since_update != 0 || o.state == TrackState::kRemoved) continue;
    const float d = std::fabs(0.5f * (o.x1 + o.x2) - cx);
    if (d < best) best = d, id = o.track_id;
  }
  return id;
}

class CostTypes : public ::testing::TestWithParam<const char*> {};

// A small object moving farther than its own width per frame: its box never overlaps the
// track's prediction on the second frame, so IoU alone starts a new track every frame. The
// centre distance keeps one id from the start.
int64_t distinct_ids_of_fast_object(Tracker* t) {
  std::set<int64_t> ids;
  for (int f = 0; f < 30; ++f) {
    Detection d = det(20.0f + 24.0f * f, 200, 16, 32);
    EXPECT_TRUE(t->update(&d, 1, f).is_ok());
    for (const TrackedObject& o : t->tracks()) {
      if (o.state != TrackState::kRemoved) ids.insert(o.track_id);
    }
  }
  return static_cast<int64_t>(ids.size());
}

TEST_P(CostTypes, CenterDistanceFollowsJumpsWithoutOverlap) {
  auto iou_only = make(GetParam(), R"(,"min_hits":2)");
  EXPECT_GE(distinct_ids_of_fast_object(iou_only.get()), 29) << "IoU alone must fail here";
  // 24 px per frame is 0.67 of the box diagonal: beyond the default gate (0.5), so open it.
  auto centered = make(GetParam(), R"(,"min_hits":2,"center_weight":0.5,"center_gate":1)");
  EXPECT_EQ(distinct_ids_of_fast_object(centered.get()), 1);
  ASSERT_EQ(centered->tracks().size(), 1u);
  EXPECT_EQ(centered->tracks()[0].state, TrackState::kConfirmed);
  EXPECT_EQ(centered->tracks()[0].hits, 30);
  auto gated = make(GetParam(), R"(,"min_hits":2,"center_weight":0.5)");
  EXPECT_GE(distinct_ids_of_fast_object(gated.get()), 29) << "the default gate refuses 0.67";
}

TEST_P(CostTypes, CenterGateStopsFarMatches) {
  // Pure centre distance (weight 1) would accept a 200 px jump of a 40x80 box (rho^2/c^2 is
  // 0.625); the gate of one track diagonal (89 px) refuses it, a gate of 3 (268 px) allows it.
  for (const float gate : {1.0f, 3.0f}) {
    auto t = make(GetParam(),
                  R"(,"min_hits":1,"center_weight":1.0,"center_gate":)" + std::to_string(gate));
    Detection d = det(100, 100);
    ASSERT_TRUE(t->update(&d, 1, 0).is_ok());
    ASSERT_TRUE(t->update(&d, 1, 1).is_ok());
    d = det(300, 100);
    ASSERT_TRUE(t->update(&d, 1, 2).is_ok());
    if (gate < 2.0f) {
      ASSERT_EQ(t->tracks().size(), 2u);
      EXPECT_EQ(t->tracks()[0].state, TrackState::kLost);
      EXPECT_EQ(t->tracks()[1].track_id, 2);
    } else {
      ASSERT_EQ(t->tracks().size(), 1u);
      EXPECT_EQ(t->tracks()[0].track_id, 1);
      EXPECT_EQ(t->tracks()[0].time_since_update, 0);
    }
  }
}

// Two people walk towards each other, are hidden while they meet, turn back and reappear
// each where the other was heading. The motion model predicts each track onto the other
// person, so IoU alone swaps the ids; distinct embeddings keep them.
struct SwapResult {
  int64_t a_before = -1, b_before = -1, a_after = -1, b_after = -1;
};

SwapResult run_bounce(Tracker* t, bool embeddings) {
  SwapResult r;
  const float ea[4] = {1.0f, 0.1f, 0.0f, 0.05f}, eb[4] = {0.1f, 1.0f, 0.05f, 0.0f};
  for (int f = 0; f < 40; ++f) {
    const float step = f <= 16 ? 5.0f * f : 5.0f * (32 - f);  // turn back at frame 16
    const float xa = 100.0f + step, xb = 260.0f - step;
    std::vector<Detection> dets;
    std::vector<float> emb;
    if (std::fabs(xa - xb) >= 40.0f) {  // hidden while they overlap
      dets = {det(xa, 100), det(xb, 100)};
      emb.assign(ea, ea + 4);
      emb.insert(emb.end(), eb, eb + 4);
    }
    const Status st = embeddings ? t->update(dets.data(), dets.size(), emb.data(), 4, f)
                                 : t->update(dets.data(), dets.size(), f);
    EXPECT_TRUE(st.is_ok()) << st.message();
    if (f == 10) r.a_before = id_near(*t, xa + 20), r.b_before = id_near(*t, xb + 20);
    if (f == 39) r.a_after = id_near(*t, xa + 20), r.b_after = id_near(*t, xb + 20);
  }
  return r;
}

TEST_P(CostTypes, AppearanceKeepsIdsWhereIouSwapsThem) {
  auto iou_only = make(GetParam(), R"(,"min_hits":2)");
  const SwapResult s = run_bounce(iou_only.get(), false);
  ASSERT_NE(s.a_before, s.b_before);
  EXPECT_EQ(s.a_after, s.b_before) << "IoU alone must swap here";
  EXPECT_EQ(s.b_after, s.a_before) << "IoU alone must swap here";

  auto app = make(GetParam(), R"(,"min_hits":2,"appearance_weight":0.5)");
  const SwapResult k = run_bounce(app.get(), true);
  ASSERT_NE(k.a_before, -1);
  EXPECT_EQ(k.a_after, k.a_before);
  EXPECT_EQ(k.b_after, k.b_before);
  EXPECT_EQ(app->embedding_dim(), 4u);
}

TEST_P(CostTypes, AppearanceGatePreventsAMatch) {
  // The same box on the next frame, but a different looking object (cosine distance 1):
  // blocked by the default gate (0.4), matched when the gate is opened (2), and a similar
  // looking object (distance 0.05) is matched under the default gate.
  const float first[4] = {1, 0, 0, 0}, other[4] = {0, 1, 0, 0}, similar[4] = {0.95f, 0.3f, 0, 0};
  struct Case {
    const float* emb;
    const char* gate;
    bool matched;
  };
  for (const Case& c : {Case{other, "", false}, Case{other, R"(,"appearance_gate":2)", true},
                        Case{similar, "", true}}) {
    auto t = make(GetParam(), R"(,"min_hits":1,"appearance_weight":0.5)" + std::string(c.gate));
    Detection d = det(100, 100);
    ASSERT_TRUE(t->update(&d, 1, first, 4, 0).is_ok());
    ASSERT_TRUE(t->update(&d, 1, c.emb, 4, 1).is_ok());
    if (c.matched) {
      ASSERT_EQ(t->tracks().size(), 1u) << c.gate;
      EXPECT_EQ(t->tracks()[0].time_since_update, 0);
    } else {
      ASSERT_EQ(t->tracks().size(), 2u);
      EXPECT_EQ(t->tracks()[0].state, TrackState::kLost);
      EXPECT_EQ(t->tracks()[1].track_id, 2);
    }
  }
}

TEST_P(CostTypes, MovingAverageRemembersAppearanceThroughOneOddFrame) {
  // Seen as A for 10 frames, then once as B (near A, so matched). With momentum 0.9 the
  // track's average stays near A, so a detection C that looks like B but not like A is
  // refused; with momentum 0 the track takes B's look at once and C is matched.
  const float a[2] = {1, 0}, b[2] = {0.8f, 0.6f};  // cosine distance A-B is 0.2 (< gate 0.4)
  const float c[2] = {0.3f, 0.954f};               // 0.7 from A, 0.19 from B
  for (const char* momentum : {"0.9", "0"}) {
    auto t = make(GetParam(), std::string(R"(,"min_hits":1,"appearance_weight":0.5,)") +
                                  R"("appearance_momentum":)" + momentum);
    Detection d = det(100, 100);
    for (int f = 0; f < 10; ++f) ASSERT_TRUE(t->update(&d, 1, a, 2, f).is_ok());
    ASSERT_TRUE(t->update(&d, 1, b, 2, 10).is_ok());
    ASSERT_EQ(t->tracks().size(), 1u);
    ASSERT_TRUE(t->update(&d, 1, c, 2, 11).is_ok());
    const bool matched = t->tracks().size() == 1u;
    EXPECT_EQ(matched, std::string(momentum) == "0") << "momentum " << momentum;
  }
}

TEST_P(CostTypes, PlainUpdatesOnAnAppearanceTrackerUseGeometryAlone) {
  auto t = make(GetParam(), R"(,"min_hits":1,"appearance_weight":1.0)");
  const float e[3] = {1, 2, 3};
  Detection d = det(100, 100);
  ASSERT_TRUE(t->update(&d, 1, e, 3, 0).is_ok());
  d = det(104, 100);
  ASSERT_TRUE(t->update(&d, 1, 1).is_ok());  // no embeddings on this frame
  ASSERT_EQ(t->tracks().size(), 1u);
  EXPECT_EQ(t->tracks()[0].hits, 2);
  EXPECT_EQ(t->embedding_dim(), 3u);
}

TEST_P(CostTypes, BadEmbeddingsNameTheCauseAndLeaveTheTrackerUnchanged) {
  auto t = make(GetParam(), R"(,"min_hits":1,"appearance_weight":0.5,"embedding_dim":4)");
  Detection d[2] = {det(10, 10), det(200, 10)};
  const float good[8] = {1, 0, 0, 0, 0, 1, 0, 0};
  ASSERT_TRUE(t->update(d, 2, good, 4, 0).is_ok());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float with_nan[8] = {1, 0, 0, 0, 0, nan, 0, 0}, with_inf[8] = {inf, 0, 0, 0, 0, 1, 0, 0};
  const float zero_row[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  struct Case {
    const float* emb;
    size_t dim;
    const char* needle;
  };
  for (const Case& c : {Case{nullptr, 4, "embeddings is null but dim is 4"},
                        Case{good, 3, "embedding dim 3 does not match the tracker's 4"},
                        Case{with_nan, 4, "embedding 1 has a non-finite value at 1"},
                        Case{with_inf, 4, "embedding 0 has a non-finite value at 0"},
                        Case{zero_row, 4, "embedding 1 has no direction"}}) {
    const Status st = t->update(d, 2, c.emb, c.dim, 5);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.needle;
    EXPECT_NE(st.message().find(c.needle), std::string::npos) << st.message();
  }
  EXPECT_EQ(t->frame_count(), 1);
  EXPECT_EQ(t->tracks().size(), 2u);
  EXPECT_TRUE(t->update(d, 2, good, 4, 1).is_ok());

  // The first dim used fixes it when the config leaves it open.
  auto open = make(GetParam(), R"(,"appearance_weight":0.5)");
  EXPECT_EQ(open->embedding_dim(), 0u);
  ASSERT_TRUE(open->update(d, 2, nullptr, 0, 0).is_ok());  // dim 0: no embeddings
  EXPECT_EQ(open->embedding_dim(), 0u);
  const float e3[6] = {1, 0, 0, 0, 1, 0};
  ASSERT_TRUE(open->update(d, 2, e3, 3, 1).is_ok());
  const Status st = open->update(d, 2, good, 4, 2);
  EXPECT_NE(st.message().find("embedding dim 4 does not match the tracker's 3"), std::string::npos)
      << st.message();

  // Embeddings are refused where they would be ignored.
  auto iou = make(GetParam(), "");
  const Status off = iou->update(d, 2, good, 4, 0);
  EXPECT_EQ(off.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(off.message().find("appearance_weight is 0"), std::string::npos) << off.message();
  EXPECT_EQ(iou->frame_count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Track, CostTypes, ::testing::Values("sort", "bytetrack"));

TEST(TrackerCostConfig, ParsedWithDefaults) {
  auto c = parse_tracker_config(
      R"({"center_weight":0.3,"center_gate":2,"appearance_weight":0.4,)"
      R"("appearance_momentum":0.8,"appearance_gate":0.5,"embedding_dim":128})");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_FLOAT_EQ(c->center_weight, 0.3f);
  EXPECT_FLOAT_EQ(c->center_gate, 2.0f);
  EXPECT_FLOAT_EQ(c->appearance_weight, 0.4f);
  EXPECT_FLOAT_EQ(c->appearance_momentum, 0.8f);
  EXPECT_FLOAT_EQ(c->appearance_gate, 0.5f);
  EXPECT_EQ(c->embedding_dim, 128);
  auto d = parse_tracker_config(R"({"type":"sort"})");
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->center_weight, 0.0f);
  EXPECT_EQ(d->appearance_weight, 0.0f);
  EXPECT_FLOAT_EQ(d->center_gate, 0.5f);
  EXPECT_FLOAT_EQ(d->appearance_momentum, 0.9f);
}

TEST(TrackerCostConfig, BadValuesNameTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"center_weight":1.5})", "tracker.center_weight: expected a number in [0, 1], got 1.5"},
      {R"({"center_weight":"high"})",
       "tracker.center_weight: expected a number in [0, 1], got \"high\""},
      {R"({"center_gate":0})", "tracker.center_gate: expected a number in [0.01, 100], got 0"},
      {R"({"center_gate":1000})",
       "tracker.center_gate: expected a number in [0.01, 100], got 1000"},
      {R"({"type":"sort","appearance_weight":-0.1})",
       "tracker.appearance_weight: expected a number in [0, 1], got -0.1"},
      {R"({"appearance_momentum":1.1})",
       "tracker.appearance_momentum: expected a number in [0, 1], got 1.1"},
      {R"({"appearance_gate":2.5})",
       "tracker.appearance_gate: expected a number in [0, 2], got 2.5"},
      {R"({"appearance_weight":0.5,"embedding_dim":-1})",
       "tracker.embedding_dim: expected an integer in 0..4096, got -1"},
      {R"({"appearance_weight":0.5,"embedding_dim":5000})",
       "tracker.embedding_dim: expected an integer in 0..4096, got 5000"},
      {R"({"appearance_weight":0.5,"embedding_dim":1.5})",
       "tracker.embedding_dim: expected an integer in 0..4096, got 1.5"},
      {R"({"embedding_dim":64})", "tracker.embedding_dim: needs appearance_weight > 0"},
  };
  for (const auto& [json, needle] : cases) {
    auto r = Tracker::create(json);
    ASSERT_FALSE(r.is_ok()) << json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig) << json;
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
        << json << " -> " << r.status().message();
  }
  // A config built in code is checked as well.
  TrackerConfig c;
  c.center_gate = 0.0f;
  auto r = Tracker::create(c);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("tracker.center_gate: must be in"), std::string::npos);
  c = TrackerConfig{};
  c.appearance_momentum = std::nanf("");
  r = Tracker::create(c);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("tracker.appearance_momentum:"), std::string::npos);
}

TEST(TrackerCostPerf, SteadyStateWithEmbeddingsDoesNotAllocate) {
#if !VAS_TEST_COUNT_ALLOCS
  GTEST_SKIP() << "allocation counting is off under the sanitizers";
#else
  constexpr int kDim = 64;
  for (const char* type : {"sort", "bytetrack"}) {
    auto t = make(type, R"(,"min_hits":1,"center_weight":0.3,"appearance_weight":0.5)");
    std::vector<Detection> dets;
    std::vector<float> emb(50 * kDim);
    for (int i = 0; i < 50; ++i) {
      dets.push_back(det(30.0f * i, 10.0f * (i % 7), 20, 40));
      for (int k = 0; k < kDim; ++k) emb[i * kDim + k] = std::cos(0.1f * static_cast<float>(i * k));
    }
    const auto step = [&](int f) {
      for (int i = 0; i < 50; ++i) {
        dets[i].x1 = 30.0f * i + f;
        dets[i].x2 = dets[i].x1 + 20;
      }
      ASSERT_TRUE(t->update(dets.data(), dets.size(), emb.data(), kDim, f).is_ok());
    };
    for (int f = 0; f < 20; ++f) step(f);
    const long before = g_allocs.load();
    for (int f = 20; f < 120; ++f) step(f);
    EXPECT_EQ(g_allocs.load() - before, 0) << type;
    EXPECT_EQ(t->tracks().size(), 50u);
    std::set<int64_t> ids;
    for (const TrackedObject& o : t->tracks()) ids.insert(o.track_id);
    EXPECT_EQ(*ids.rbegin(), 50) << "every object kept its id";
  }
#endif
}

}  // namespace
}  // namespace vas
