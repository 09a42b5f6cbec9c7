/* Strict C99 tests of the tracker C ABI, linked only against libvasdk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vasdk/vasdk.h>

#include "capi_check.h"

static vas_detection_t box(float x, float y, float score, int32_t cls) {
  vas_detection_t d;
  memset(&d, 0, sizeof(d));
  d.x1 = x;
  d.y1 = y;
  d.x2 = x + 40.0f;
  d.y2 = y + 80.0f;
  d.score = score;
  d.class_id = cls;
  return d;
}

static vas_tracker_t* make(const char* json) {
  vas_tracker_config_t cfg;
  vas_tracker_t* t = NULL;
  vas_tracker_config_init(&cfg);
  cfg.config_json = json;
  CHECK(vas_tracker_create(&cfg, &t) == VAS_OK);
  CHECK(t != NULL);
  return t;
}

static void test_destroy_and_init_null(void) {
  vas_tracker_destroy(NULL);
  vas_tracker_config_init(NULL);
}

static void test_create_errors(void) {
  vas_tracker_config_t cfg;
  vas_tracker_t* sentinel = (vas_tracker_t*)&cfg; /* any non-NULL value */
  vas_tracker_t* t = sentinel;

  CHECK(vas_tracker_create(NULL, &t) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("config is NULL");
  CHECK(t == sentinel);

  vas_tracker_config_init(&cfg);
  CHECK(cfg.struct_size == sizeof(vas_tracker_config_t));
  CHECK(vas_tracker_create(&cfg, NULL) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("out is NULL");

  /* An older, smaller struct than the first public version is refused. */
  cfg.struct_size = 4;
  CHECK(vas_tracker_create(&cfg, &t) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("vas_tracker_config_t.struct_size is 4");
  CHECK(t == sentinel);

  vas_tracker_config_init(&cfg);
  cfg.config_json = "{\"type\": \"bytetrack\", \"trak_thresh\": 0.5}";
  CHECK(vas_tracker_create(&cfg, &t) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("vas_tracker_create");
  CHECK_MSG_HAS("tracker.trak_thresh: unknown field");
  CHECK(t == sentinel);

  cfg.config_json = "{\"type\": \"kcf\"}";
  CHECK(vas_tracker_create(&cfg, &t) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("tracker.type: expected one of 'sort', 'bytetrack', got 'kcf'");
  CHECK(t == sentinel);

  /* NULL JSON means defaults; a newer, larger struct_size is accepted. */
  {
    struct {
      vas_tracker_config_t cfg;
      char future[32];
    } big;
    memset(&big, 0x00, sizeof(big));
    vas_tracker_config_init(&big.cfg);
    big.cfg.struct_size = sizeof(big);
    CHECK(vas_tracker_create(&big.cfg, &t) == VAS_OK);
    CHECK(t != sentinel && t != NULL);
    vas_tracker_destroy(t);
  }
}

static void test_update_and_predict(void) {
  vas_tracker_t* t = make("{\"type\": \"sort\", \"min_hits\": 2, \"max_age\": 2}");
  const vas_track_t* tracks = NULL;
  size_t n = 0;
  int f;
  if (!t) return;
  for (f = 0; f < 3; ++f) {
    vas_detection_t d[2];
    d[0] = box(100.0f + 2.0f * (float)f, 50.0f, 0.9f, 0);
    d[1] = box(400.0f, 50.0f, 0.8f, 2);
    CHECK(vas_tracker_update(t, d, 2, (int64_t)f * 40000, &tracks, &n) == VAS_OK);
    CHECK(n == 2);
    if (n != 2) break;
    CHECK(tracks[0].track_id == 1 && tracks[1].track_id == 2);
    CHECK(tracks[0].state == (f == 0 ? VAS_TRACK_TENTATIVE : VAS_TRACK_CONFIRMED));
    CHECK(tracks[1].class_id == 2);
    CHECK(tracks[0].parent_track_id == -1);
    CHECK(tracks[0].hits == f + 1);
    CHECK(tracks[0].time_since_update == 0);
    CHECK(tracks[0].reserved == 0);
  }
  /* Skipped frames keep the tracks confirmed and predicted. */
  CHECK(vas_tracker_predict(t, 3 * 40000, &tracks, &n) == VAS_OK);
  CHECK(n == 2);
  if (n == 2) {
    CHECK(tracks[0].state == VAS_TRACK_CONFIRMED);
    CHECK(tracks[0].time_since_update == 1);
    CHECK(tracks[0].score == 0.0f);
  }
  /* Empty detection frames: lost, then removed (reported once), then gone. */
  CHECK(vas_tracker_update(t, NULL, 0, 4 * 40000, &tracks, &n) == VAS_OK);
  CHECK(n == 2 && tracks[0].state == VAS_TRACK_LOST);
  CHECK(vas_tracker_update(t, NULL, 0, 5 * 40000, &tracks, &n) == VAS_OK);
  CHECK(n == 2 && tracks[0].state == VAS_TRACK_REMOVED);
  CHECK(vas_tracker_update(t, NULL, 0, 6 * 40000, &tracks, &n) == VAS_OK);
  CHECK(n == 0);
  vas_tracker_destroy(t);
}

static void test_bad_calls_leave_outputs_untouched(void) {
  vas_tracker_t* t = make(NULL);
  const vas_track_t* sentinel_tracks = (const vas_track_t*)&g_failures;
  const vas_track_t* tracks = sentinel_tracks;
  size_t n = 12345;
  vas_detection_t d = box(10.0f, 10.0f, 0.9f, 0);
  if (!t) return;

  CHECK(vas_tracker_update(NULL, &d, 1, 0, &tracks, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("tracker is NULL");
  CHECK(vas_tracker_update(t, &d, 1, 0, NULL, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("out_tracks or out_count is NULL");
  CHECK(vas_tracker_update(t, &d, 1, 0, &tracks, NULL) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_tracker_update(t, NULL, 3, 0, &tracks, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("dets is NULL but n is 3");
  CHECK(vas_tracker_predict(NULL, 0, &tracks, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_tracker_predict(t, 0, NULL, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(tracks == sentinel_tracks && n == 12345);

  d.x2 = 0.0f; /* x2 < x1 */
  CHECK(vas_tracker_update(t, &d, 1, 0, &tracks, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("detection 0 has x2 < x1");
  CHECK(tracks == sentinel_tracks && n == 12345);

  d = box(10.0f, 10.0f, 0.9f, 0);
  CHECK(vas_tracker_update(t, &d, 1, 1000, &tracks, &n) == VAS_OK);
  CHECK(n == 1);
  tracks = sentinel_tracks;
  n = 12345;
  CHECK(vas_tracker_update(t, &d, 1, 999, &tracks, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("timestamp_us 999 is earlier");
  CHECK(vas_tracker_predict(t, 10, &tracks, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(tracks == sentinel_tracks && n == 12345);
  vas_tracker_destroy(t);
}

static void test_ids_are_per_tracker(void) {
  vas_tracker_t* a = make("{\"min_hits\": 1}");
  vas_tracker_t* b = make("{\"min_hits\": 1}");
  const vas_track_t* tracks = NULL;
  size_t n = 0;
  vas_detection_t d = box(10.0f, 10.0f, 0.9f, 0);
  vas_detection_t e = box(300.0f, 10.0f, 0.9f, 0);
  if (!a || !b) return;
  CHECK(vas_tracker_update(a, &d, 1, 0, &tracks, &n) == VAS_OK);
  CHECK(vas_tracker_update(a, &e, 1, 1, &tracks, &n) == VAS_OK);
  CHECK(n == 2 && tracks[1].track_id == 2);
  CHECK(vas_tracker_update(b, &e, 1, 0, &tracks, &n) == VAS_OK);
  CHECK(n == 1 && tracks[0].track_id == 1);
  vas_tracker_destroy(a);
  vas_tracker_destroy(b);
}

int main(void) {
  test_destroy_and_init_null();
  test_create_errors();
  test_update_and_predict();
  test_bad_calls_leave_outputs_untouched();
  test_ids_are_per_tracker();
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("all tracker C API checks passed\n");
  return 0;
}
