/* Strict C99 tests of the analytics C API (best shots, association, rules), linked only
   against libvasdk: a crossing produces an event that refers to the track's best shot, shots
   come out on track end and flush with decodable JPEG, NULL arguments, destroy NULL, old
   struct_size values and out-parameters left untouched on error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vasdk/vasdk.h>

#include "capi_check.h"

#define W 160
#define H 120
static uint8_t g_pixels[W * H * 3];

static vas_image_t frame(void) {
  vas_image_t img;
  vas_image_init(&img);
  img.format = VAS_PIXEL_FORMAT_BGR24;
  img.width = W;
  img.height = H;
  img.planes[0] = g_pixels;
  img.strides[0] = W * 3;
  return img;
}

/* A confirmed 20x30 track whose bottom centre is (x, y). */
static vas_track_t track(int64_t id, float x, float y) {
  vas_track_t t;
  memset(&t, 0, sizeof(t));
  t.track_id = id;
  t.parent_track_id = -1;
  t.x1 = x - 10;
  t.x2 = x + 10;
  t.y1 = y - 30;
  t.y2 = y;
  t.score = 0.9f;
  t.state = VAS_TRACK_CONFIRMED;
  t.hits = 5;
  t.age = 5;
  return t;
}

static void test_destroy_null(void) {
  vas_best_shot_selector_destroy(NULL);
  vas_associator_destroy(NULL);
  vas_rules_destroy(NULL);
  vas_best_shot_config_init(NULL);
  vas_associator_config_init(NULL);
  vas_rules_config_init(NULL);
}

static void test_rules_and_shots(void) {
  vas_best_shot_config_t scfg;
  vas_rules_config_t rcfg;
  vas_best_shot_selector_t* sel = NULL;
  vas_rules_t* rules = NULL;
  const vas_best_shot_t* shots = NULL;
  const vas_event_t* events = NULL;
  size_t n_shots = 0, n_events = 0, total_events = 0;
  int64_t shot_of_crossing = -1, in = -1, out = -1;
  const uint8_t* jpeg = NULL;
  size_t jpeg_size = 0;
  int f;
  size_t i;

  for (i = 0; i < sizeof(g_pixels); ++i) g_pixels[i] = (uint8_t)((i * 7919u) >> 3);
  vas_best_shot_config_init(&scfg);
  scfg.config_json = "{\"top_k\": 2, \"max_missing\": 3}";
  CHECK(vas_best_shot_selector_create(&scfg, &sel) == VAS_OK);
  vas_rules_config_init(&rcfg);
  rcfg.config_json =
      "{\"channel\": \"cam7\", \"rules\": [{\"id\": \"door\", \"type\": \"line_crossing\","
      " \"line\": [[0, 60], [160, 60]], \"hysteresis\": 4}]}";
  CHECK(vas_rules_create(&rcfg, &rules) == VAS_OK);
  if (!sel || !rules) return;

  /* Track 3 walks up across y = 60. */
  for (f = 0; f < 8; ++f) {
    vas_image_t img = frame();
    vas_track_t t = track(3, 80, (float)(100 - 8 * f));
    CHECK(vas_best_shot_selector_update(sel, &img, &t, 1, f * 40000, &shots, &n_shots) == VAS_OK);
    CHECK(n_shots == 0);
    CHECK(vas_rules_update(rules, &t, 1, f * 40000, sel, &events, &n_events) == VAS_OK);
    for (i = 0; i < n_events; ++i) {
      ++total_events;
      CHECK(events[i].kind == VAS_EVENT_CROSS_IN);
      CHECK(strcmp(events[i].channel, "cam7") == 0);
      CHECK(strcmp(events[i].rule_id, "door") == 0);
      CHECK(events[i].track_id == 3);
      CHECK(events[i].timestamp_us == f * 40000);
      shot_of_crossing = events[i].best_shot_id;
    }
  }
  CHECK(total_events == 1);
  CHECK(shot_of_crossing >= 0);
  CHECK(vas_rules_get_line_counts(rules, "door", &in, &out) == VAS_OK);
  CHECK(in == 1 && out == 0);

  /* The track disappears; after max_missing updates its record comes out, best first. */
  for (f = 8; f < 12 && n_shots == 0; ++f) {
    vas_image_t img = frame();
    CHECK(vas_best_shot_selector_update(sel, &img, NULL, 0, f * 40000, &shots, &n_shots) == VAS_OK);
  }
  CHECK(n_shots == 2);
  if (n_shots == 2) {
    CHECK(shots[0].track_id == 3 && shots[1].track_id == 3);
    CHECK(shots[0].reason == VAS_BEST_SHOT_TRACK_ENDED);
    CHECK(shots[0].rank == 0 && shots[1].rank == 1);
    CHECK(shots[0].quality >= shots[1].quality);
    CHECK(shots[0].crop.format == VAS_PIXEL_FORMAT_BGR24);
    CHECK(shots[0].crop.width == 26 && shots[0].crop.height == 40); /* box + 15%, rounded out */
    CHECK(shots[0].crop.planes[0] != NULL);
    CHECK(shots[0].jpeg == NULL && shots[0].jpeg_size == 0);
    CHECK(vas_best_shot_selector_encode_jpeg(sel, &shots[0], &jpeg, &jpeg_size) == VAS_OK);
    CHECK(jpeg_size > 100 && jpeg[0] == 0xFF && jpeg[1] == 0xD8);
    CHECK(jpeg[jpeg_size - 2] == 0xFF && jpeg[jpeg_size - 1] == 0xD9);
  }

  /* Flush returns a live track's shot; the rules engine has nothing open. */
  {
    vas_image_t img = frame();
    vas_track_t t = track(4, 40, 100);
    CHECK(vas_best_shot_selector_update(sel, &img, &t, 1, 600000, &shots, &n_shots) == VAS_OK);
    CHECK(vas_best_shot_selector_flush(sel, 640000, &shots, &n_shots) == VAS_OK);
    CHECK(n_shots == 1 && shots[0].track_id == 4 && shots[0].reason == VAS_BEST_SHOT_FLUSH);
    CHECK(vas_rules_flush(rules, 640000, &events, &n_events) == VAS_OK);
    CHECK(n_events == 0);
  }

  /* Errors leave out-parameters untouched. */
  {
    const vas_event_t* ev_sentinel = (const vas_event_t*)&rcfg;
    const vas_event_t* ev = ev_sentinel;
    size_t n = 77;
    vas_track_t bad = track(5, 40, 100);
    bad.state = 9;
    CHECK(vas_rules_update(rules, &bad, 1, 700000, NULL, &ev, &n) == VAS_ERR_INVALID_ARGUMENT);
    CHECK_MSG_HAS("tracks[0].state");
    CHECK(ev == ev_sentinel && n == 77);
    CHECK(vas_rules_update(rules, NULL, 2, 700000, NULL, &ev, &n) == VAS_ERR_INVALID_ARGUMENT);
    CHECK_MSG_HAS("tracks is NULL");
    CHECK(vas_rules_update(rules, NULL, 0, 10, NULL, &ev, &n) == VAS_ERR_INVALID_ARGUMENT);
    CHECK_MSG_HAS("before the previous");
    CHECK(ev == ev_sentinel && n == 77);
    CHECK(vas_rules_get_line_counts(rules, "nope", &in, &out) == VAS_ERR_NOT_FOUND);
    CHECK_MSG_HAS("'nope'");
    bad = track(5, 40, 100);
    bad.x2 = bad.x1 - 1;
    {
      vas_image_t img = frame();
      CHECK(vas_best_shot_selector_update(sel, &img, &bad, 1, 700000, &shots, &n_shots) ==
            VAS_ERR_INVALID_ARGUMENT);
      CHECK_MSG_HAS("tracks[0]: box");
      img.width = 0;
      CHECK(vas_best_shot_selector_update(sel, &img, NULL, 0, 700000, &shots, &n_shots) ==
            VAS_ERR_INVALID_ARGUMENT);
      img = frame();
      img.struct_size = 8;
      CHECK(vas_best_shot_selector_update(sel, &img, NULL, 0, 700000, &shots, &n_shots) ==
            VAS_ERR_INVALID_ARGUMENT);
      CHECK_MSG_HAS("struct_size");
    }
    CHECK(vas_best_shot_selector_encode_jpeg(sel, (const vas_best_shot_t*)&rcfg, &jpeg,
                                             &jpeg_size) == VAS_ERR_INVALID_ARGUMENT);
    CHECK(vas_best_shot_selector_update(NULL, NULL, NULL, 0, 0, &shots, &n_shots) ==
          VAS_ERR_INVALID_ARGUMENT);
    CHECK(vas_rules_flush(NULL, 0, &ev, &n) == VAS_ERR_INVALID_ARGUMENT);
    CHECK(vas_rules_flush(rules, 800000, NULL, &n) == VAS_ERR_INVALID_ARGUMENT);
  }
  vas_rules_destroy(rules);
  vas_best_shot_selector_destroy(sel);
}

static void test_bad_configs(void) {
  vas_rules_config_t rcfg;
  vas_best_shot_config_t scfg;
  vas_associator_config_t acfg;
  vas_rules_t* rules = (vas_rules_t*)&rcfg; /* sentinel: must stay untouched */
  vas_best_shot_selector_t* sel = (vas_best_shot_selector_t*)&scfg;
  vas_associator_t* assoc = (vas_associator_t*)&acfg;

  vas_rules_config_init(&rcfg);
  rcfg.config_json =
      "{\"rules\": [{\"id\": \"a\", \"type\": \"line_crossing\", \"line\": [[0, 0], [9, 9]]},"
      " {\"id\": \"b\", \"type\": \"intrusion\", \"polygon\": [[0, 0], [1, 1]]},"
      " {\"id\": \"c\", \"type\": \"intrusion\", \"polygon\": [[0, 0], [4, 4], [4, 0], [0, 4]]}]}";
  CHECK(vas_rules_create(&rcfg, &rules) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("rules[1].polygon: needs at least 3 points");
  rcfg.config_json = "{\"rules\": [{\"id\": \"a\", \"type\": \"tripwire\"}]}";
  CHECK(vas_rules_create(&rcfg, &rules) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("rules[0].type: unknown rule type 'tripwire'");
  rcfg.config_json =
      "{\"rules\": [{\"id\": \"a\", \"type\": \"line_crossing\", "
      "\"line\": [[3, 3], [3, 3]]}]}";
  CHECK(vas_rules_create(&rcfg, &rules) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("rules[0].line: zero-length line");
  rcfg.config_json = NULL;
  CHECK(vas_rules_create(&rcfg, &rules) == VAS_ERR_INVALID_ARGUMENT);
  rcfg.config_json = "{\"rules\": []}";
  rcfg.struct_size = 4;
  CHECK(vas_rules_create(&rcfg, &rules) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("struct_size");
  CHECK(vas_rules_create(NULL, &rules) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(rules == (vas_rules_t*)&rcfg);

  vas_best_shot_config_init(&scfg);
  scfg.config_json = "{\"top_k\": 0}";
  CHECK(vas_best_shot_selector_create(&scfg, &sel) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("top_k");
  scfg.config_json = "{\"sharpnes_ref\": 3}";
  CHECK(vas_best_shot_selector_create(&scfg, &sel) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("sharpnes_ref: unknown field");
  CHECK(sel == (vas_best_shot_selector_t*)&scfg);

  vas_associator_config_init(&acfg);
  acfg.config_json = "{\"region\": [0.5, 0.1]}";
  CHECK(vas_associator_create(&acfg, &assoc) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("region");
  CHECK(vas_associator_create(&acfg, NULL) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(assoc == (vas_associator_t*)&acfg);
}

static void test_associator(void) {
  vas_associator_config_t cfg;
  vas_associator_t* a = NULL;
  vas_track_t t[3];
  vas_associator_config_init(&cfg);
  cfg.config_json = "{\"parent_class\": 0, \"child_class\": 1}";
  CHECK(vas_associator_create(&cfg, &a) == VAS_OK);
  if (!a) return;
  t[0] = track(10, 50, 200); /* body: 40..60 x 170..200 */
  t[0].x1 = 20;
  t[0].x2 = 80;
  t[0].y1 = 50;
  t[1] = track(20, 50, 90); /* face 40..60 x 60..90: in the body's upper half */
  t[1].class_id = 1;
  t[2] = track(21, 300, 90);
  t[2].class_id = 1;
  CHECK(vas_associator_update(a, t, 3) == VAS_OK);
  CHECK(t[1].parent_track_id == 10);
  CHECK(t[2].parent_track_id == -1);
  CHECK(t[0].parent_track_id == -1);
  CHECK(vas_associator_update(a, NULL, 1) == VAS_ERR_INVALID_ARGUMENT);
  vas_associator_destroy(a);
}

int main(void) {
  test_destroy_null();
  test_rules_and_shots();
  test_bad_configs();
  test_associator();
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("all analytics C API checks passed\n");
  return 0;
}
