// Association: Hungarian assignment against brute force, geometry, face-to-body matching within
// a frame and by majority vote across frames, zone membership.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "associate/associator.h"
#include "business/zones.h"
#include "core/assignment.h"
#include "core/geometry.h"

namespace vas {
namespace {

TrackedObject box(int64_t id, int cls, float x1, float y1, float x2, float y2) {
  TrackedObject o;
  o.track_id = id;
  o.class_id = cls;
  o.x1 = x1, o.y1 = y1, o.x2 = x2, o.y2 = y2;
  o.state = TrackState::kConfirmed;
  o.score = 0.9f;
  return o;
}

// Minimum total cost over all injective maps from the smaller side to the larger one.
double brute_force(const std::vector<double>& c, int rows, int cols) {
  const bool wide = rows <= cols;
  const int small = wide ? rows : cols, big = wide ? cols : rows;
  std::vector<int> perm(big);
  std::iota(perm.begin(), perm.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    double s = 0;
    for (int i = 0; i < small; ++i)
      s += wide ? c[static_cast<size_t>(i) * cols + perm[i]]
                : c[static_cast<size_t>(perm[i]) * cols + i];
    best = std::min(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

TEST(Hungarian, MatchesBruteForceOnRandomMatrices) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 10);
  for (int trial = 0; trial < 300; ++trial) {
    const int rows = 1 + trial % 6, cols = 1 + (trial / 6) % 6;
    std::vector<double> c(static_cast<size_t>(rows) * cols);
    for (double& v : c) v = trial % 3 == 0 ? std::floor(u(rng)) : u(rng);  // ties too
    const std::vector<int> m = solve_assignment(c, rows, cols);
    ASSERT_EQ(m.size(), static_cast<size_t>(rows));
    double total = 0;
    std::vector<int> used(cols, 0);
    int assigned = 0;
    for (int r = 0; r < rows; ++r) {
      if (m[r] < 0) continue;
      ASSERT_LT(m[r], cols);
      ASSERT_EQ(used[m[r]]++, 0) << "column used twice";
      total += c[static_cast<size_t>(r) * cols + m[r]];
      ++assigned;
    }
    EXPECT_EQ(assigned, std::min(rows, cols));
    EXPECT_NEAR(total, brute_force(c, rows, cols), 1e-9) << rows << "x" << cols;
  }
}

TEST(Hungarian, ForbiddenPairsStayUnassigned) {
  const double F = 1e6;
  // Row 1 may only take column 0, which row 0 prefers too: row 0 must yield.
  const std::vector<double> c = {1, 5, F, 2, F, F};
  const std::vector<int> m = solve_assignment(c, 2, 3, F);
  EXPECT_EQ(m[0], 1);
  EXPECT_EQ(m[1], 0);
  const std::vector<double> none = {F, F};
  EXPECT_EQ(solve_assignment(none, 1, 2, F)[0], -1);
  EXPECT_TRUE(solve_assignment({}, 0, 3).empty());
}

TEST(Geometry, PointInPolygonAndSides) {
  const std::vector<Point> concave = {{0, 0}, {10, 0}, {10, 10}, {5, 5}, {0, 10}};
  EXPECT_TRUE(point_in_polygon({2, 2}, concave));
  EXPECT_FALSE(point_in_polygon({5, 8}, concave));  // in the notch
  EXPECT_TRUE(point_in_polygon({10, 5}, concave));  // on an edge
  EXPECT_FALSE(point_in_polygon({11, 5}, concave));
  // a->b points right along y = 0; with y down, y < 0 is above the line, on a->b's left.
  EXPECT_GT(signed_distance({0, -3}, {0, 0}, {10, 0}), 0);
  EXPECT_NEAR(signed_distance({4, 3}, {0, 0}, {10, 0}), -3.0, 1e-12);
  EXPECT_TRUE(segments_intersect({0, 0}, {2, 2}, {0, 2}, {2, 0}));
  EXPECT_FALSE(segments_intersect({0, 0}, {1, 1}, {2, 2}, {3, 0}));
}

TEST(Geometry, ValidatePolygonNamesTheCause) {
  EXPECT_TRUE(validate_polygon({{0, 0}, {4, 0}, {4, 4}, {0, 4}}).is_ok());
  Status bowtie = validate_polygon({{0, 0}, {4, 4}, {4, 0}, {0, 4}});
  EXPECT_EQ(bowtie.code(), StatusCode::kInvalidConfig);
  EXPECT_NE(bowtie.message().find("self-intersecting"), std::string::npos) << bowtie.message();
  EXPECT_NE(validate_polygon({{0, 0}, {1, 1}}).message().find("at least 3"), std::string::npos);
  EXPECT_NE(validate_polygon({{0, 0}, {0, 0}, {1, 1}}).message().find("same"), std::string::npos);
  EXPECT_NE(validate_polygon({{0, 0}, {1, 1}, {2, 2}}).message().find("zero area"),
            std::string::npos);
}

TEST(Associator, MatchesFacesToTheUpperPartOfTheirBodies) {
  Associator a(AssociatorConfig{});
  std::vector<TrackedObject> objs = {
      box(1, 0, 0, 0, 100, 300),     // person A
      box(2, 0, 200, 0, 300, 300),   // person B
      box(10, 1, 225, 20, 275, 80),  // face in B's upper half
      box(11, 1, 25, 30, 75, 90),    // face in A's upper half
      box(12, 1, 30, 220, 70, 260),  // "face" at A's knees: no parent
      box(13, 1, 500, 20, 540, 60),  // face with no body
  };
  const std::vector<int> m = a.match_frame(objs);
  EXPECT_EQ(m[2], 1);
  EXPECT_EQ(m[3], 0);
  EXPECT_EQ(m[4], -1);
  EXPECT_EQ(m[5], -1);
  EXPECT_EQ(m[0], -1);  // parents have no parent
}

TEST(Associator, OneFacePerBodyAndTheBetterFitWins) {
  Associator a(AssociatorConfig{});
  // Two faces inside one body's head region: the centred one takes it, the other stays free.
  std::vector<TrackedObject> objs = {box(1, 0, 0, 0, 100, 300), box(10, 1, 5, 10, 35, 50),
                                     box(11, 1, 35, 10, 65, 50)};
  const std::vector<int> m = a.match_frame(objs);
  EXPECT_EQ(m[2], 0);
  EXPECT_EQ(m[1], -1);
}

TEST(Associator, MajorityVoteHoldsTheLinkAcrossFrames) {
  Associator a(AssociatorConfig{});
  std::vector<TrackedObject> frame;
  // 6 frames where face 10 sits on body 1, then 3 frames where body 2 overlaps and is closer.
  for (int f = 0; f < 9; ++f) {
    frame = {box(1, 0, 0, 0, 100, 300), box(10, 1, 40, 20, 80, 70)};
    if (f >= 6) frame.push_back(box(2, 0, 20, 0, 100, 300));  // better centred over the face
    a.update(&frame);
    EXPECT_EQ(frame[1].parent_track_id, 1) << "frame " << f;
  }
  // Body 2 keeps winning the per-frame match; after it has more votes, the link moves.
  for (int f = 0; f < 4; ++f) {
    frame = {box(1, 0, 0, 0, 100, 300), box(10, 1, 40, 20, 80, 70), box(2, 0, 20, 0, 100, 300)};
    a.update(&frame);
  }
  EXPECT_EQ(a.parent_of(10), 2);
  frame = {box(10, 1, 40, 20, 80, 70)};
  frame[0].state = TrackState::kRemoved;
  a.update(&frame);
  EXPECT_EQ(a.parent_of(10), -1);
  EXPECT_EQ(frame[0].parent_track_id, -1);
}

TEST(Associator, ConfigErrorsNameTheField) {
  EXPECT_TRUE(parse_associator_config("").is_ok());
  auto ok = parse_associator_config(R"({"parent_class": 2, "child_class": 5, "region": [0, 0.4]})");
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->child_class, 5);
  EXPECT_FLOAT_EQ(ok->region_bottom, 0.4f);
  auto bad = parse_associator_config(R"({"region": [0.6, 0.2]})");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(bad.status().message().rfind("region:", 0), 0u) << bad.status().message();
  EXPECT_EQ(parse_associator_config(R"({"colour": 1})").status().message(),
            "colour: unknown field");
  EXPECT_EQ(parse_associator_config(R"({"parent_class": 1, "child_class": 1})").status().code(),
            StatusCode::kInvalidConfig);
  EXPECT_EQ(parse_associator_config("{").status().code(), StatusCode::kInvalidConfig);
}

TEST(Zones, AssignsAnchorPoints) {
  std::vector<Zone> zones = {
      Zone{"left", {{0, 0}, {50, 0}, {50, 100}, {0, 100}}, Anchor::kBottomCenter},
      Zone{"all", {{0, 0}, {200, 0}, {200, 100}, {0, 100}}, Anchor::kCenter}};
  std::vector<TrackedObject> objs = {box(1, 0, 10, 10, 30, 90), box(2, 0, 100, 50, 120, 150)};
  std::vector<std::vector<int>> in;
  assign_zones(objs, zones, &in);
  EXPECT_EQ(in[0], (std::vector<int>{0, 1}));
  EXPECT_EQ(in[1], (std::vector<int>{1}));  // its centre (110, 100) is on the edge: inside
}

}  // namespace
}  // namespace vas
