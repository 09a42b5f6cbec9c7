/* Strict C99 tests of vas_tracker_update_embeddings() and the tracker's cost options. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vasdk/vasdk.h>

#include "capi_check.h"

static vas_detection_t box(float x, float y) {
  vas_detection_t d;
  memset(&d, 0, sizeof(d));
  d.x1 = x;
  d.y1 = y;
  d.x2 = x + 40.0f;
  d.y2 = y + 80.0f;
  d.score = 0.9f;
  return d;
}

static vas_tracker_t* make(const char* json) {
  vas_tracker_config_t cfg;
  vas_tracker_t* t = NULL;
  vas_tracker_config_init(&cfg);
  cfg.config_json = json;
  CHECK(vas_tracker_create(&cfg, &t) == VAS_OK);
  return t;
}

static void test_config_errors_name_the_field(void) {
  static const char* const cases[][2] = {
      {"{\"center_weight\": 2}", "tracker.center_weight: expected a number in [0, 1], got 2"},
      {"{\"center_gate\": 0}", "tracker.center_gate: expected a number in [0.01, 100], got 0"},
      {"{\"appearance_gate\": -1}", "tracker.appearance_gate: expected a number in [0, 2], got -1"},
      {"{\"appearance_momentum\": true}",
       "tracker.appearance_momentum: expected a number in [0, 1], got true"},
      {"{\"embedding_dim\": 16}", "tracker.embedding_dim: needs appearance_weight > 0"},
  };
  size_t i;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
    vas_tracker_config_t cfg;
    vas_tracker_t* t = NULL;
    vas_tracker_config_init(&cfg);
    cfg.config_json = cases[i][0];
    CHECK(vas_tracker_create(&cfg, &t) == VAS_ERR_INVALID_CONFIG);
    CHECK_MSG_HAS(cases[i][1]);
    CHECK(t == NULL);
  }
}

/* The same box twice: a different-looking detection starts a new track, a similar one is
   matched. */
static void test_appearance_gate(void) {
  const float first[3] = {1.0f, 0.0f, 0.0f}, other[3] = {0.0f, 0.0f, 5.0f};
  const float similar[3] = {2.0f, 0.2f, 0.0f}; /* any scale: normalised by the tracker */
  const float* second[2];
  int k;
  second[0] = other;
  second[1] = similar;
  for (k = 0; k < 2; ++k) {
    vas_tracker_t* t = make("{\"type\": \"sort\", \"min_hits\": 1, \"appearance_weight\": 0.5}");
    const vas_track_t* tracks = NULL;
    size_t n = 0;
    vas_detection_t d = box(100.0f, 100.0f);
    if (!t) return;
    CHECK(vas_tracker_update_embeddings(t, &d, 1, first, 3, 0, &tracks, &n) == VAS_OK);
    CHECK(n == 1);
    CHECK(vas_tracker_update_embeddings(t, &d, 1, second[k], 3, 1, &tracks, &n) == VAS_OK);
    if (k == 0) {
      CHECK(n == 2 && tracks[0].state == VAS_TRACK_LOST && tracks[1].track_id == 2);
    } else {
      CHECK(n == 1 && tracks[0].track_id == 1 && tracks[0].time_since_update == 0);
    }
    vas_tracker_destroy(t);
  }
}

static void test_bad_embeddings_leave_everything_untouched(void) {
  vas_tracker_t* t = make("{\"min_hits\": 1, \"appearance_weight\": 0.5, \"embedding_dim\": 2}");
  vas_tracker_t* plain = make("{\"min_hits\": 1}");
  const vas_track_t* sentinel_tracks = (const vas_track_t*)&g_failures;
  const vas_track_t* tracks = sentinel_tracks;
  size_t n = 12345;
  vas_detection_t d[2];
  const float good[4] = {1.0f, 0.0f, 0.0f, 1.0f}, zero_row[4] = {1.0f, 0.0f, 0.0f, 0.0f};
  float not_finite[4] = {1.0f, 0.0f, 0.0f, 1.0f};
  if (!t || !plain) return;
  d[0] = box(10.0f, 10.0f);
  d[1] = box(300.0f, 10.0f);
  not_finite[2] = HUGE_VALF;

  CHECK(vas_tracker_update_embeddings(NULL, d, 2, good, 2, 0, &tracks, &n) ==
        VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("tracker is NULL");
  CHECK(vas_tracker_update_embeddings(t, d, 2, NULL, 2, 0, &tracks, &n) ==
        VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("vas_tracker_update_embeddings");
  CHECK_MSG_HAS("embeddings is NULL but n is 2 and dim is 2");
  CHECK(vas_tracker_update_embeddings(t, d, 2, good, 3, 0, &tracks, &n) ==
        VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("embedding dim 3 does not match the tracker's 2");
  CHECK(vas_tracker_update_embeddings(t, d, 2, not_finite, 2, 0, &tracks, &n) ==
        VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("embedding 1 has a non-finite value at 0");
  CHECK(vas_tracker_update_embeddings(t, d, 2, zero_row, 2, 0, &tracks, &n) ==
        VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("embedding 1 has no direction");
  CHECK(vas_tracker_update_embeddings(plain, d, 2, good, 2, 0, &tracks, &n) ==
        VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("appearance_weight is 0");
  CHECK(vas_tracker_update_embeddings(t, d, 2, good, 2, 0, NULL, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("out_tracks or out_count is NULL");
  CHECK(tracks == sentinel_tracks && n == 12345);

  /* Nothing was applied: the first good frame still starts ids at 1. dim 0 means no
     embeddings, and NULL is then fine. */
  CHECK(vas_tracker_update_embeddings(t, d, 2, good, 2, 0, &tracks, &n) == VAS_OK);
  CHECK(n == 2 && tracks[0].track_id == 1 && tracks[1].track_id == 2 && tracks[0].age == 1);
  CHECK(vas_tracker_update_embeddings(t, d, 2, NULL, 0, 1, &tracks, &n) == VAS_OK);
  CHECK(n == 2 && tracks[0].hits == 2);
  CHECK(vas_tracker_update_embeddings(plain, d, 2, NULL, 0, 0, &tracks, &n) == VAS_OK);
  CHECK(n == 2);
  vas_tracker_destroy(t);
  vas_tracker_destroy(plain);
}

int main(void) {
  test_config_errors_name_the_field();
  test_appearance_gate();
  test_bad_embeddings_leave_everything_untouched();
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("all tracker embedding C API checks passed\n");
  return 0;
}
