/* Strict C99 tests of the pipeline and logging C ABI, linked only against libvasdk. The real
   runs push frames of vtest.avi (decoded through vas_video_reader_*) into a push channel, so
   they need no particular timing and finish in a few seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vasdk/vasdk.h>

#include "capi_check.h"

#define NFRAMES 6
static char g_model[1024], g_video[1024];

static void asset(char* out, size_t n, const char* name) {
  const char* dir = getenv("VASDK_ASSETS");
  snprintf(out, n, "%s/%s", dir ? dir : ".cache/assets", name);
}

/* A config with one channel; `channel` is the channel object's JSON. */
static const char* config_with(const char* channel) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{\"models\": {\"detector\": {\"model\": \"%s\", \"options\": {\"threads\": 2, "
           "\"classes\": [\"person\", \"car\", \"truck\"]}}}, \"channels\": [%s]}",
           g_model, channel);
  return buf;
}

static vas_status_t create(const char* json, vas_pipeline_t** out) {
  vas_pipeline_config_t cfg;
  vas_pipeline_config_init(&cfg);
  cfg.config_json = json;
  return vas_pipeline_create(&cfg, out);
}

static const char* kPushChannel =
    "{\"id\": \"cam1\", \"push\": true, \"queue\": 8, \"policy\": \"block\", \"pool_frames\": 8}";

/* ---- what the callbacks saw --------------------------------------------------------------- */

typedef struct {
  vas_pipeline_t* pipe;
  int results;
  int out_of_order; /* frames not numbered 0, 1, 2, ... */
  int bad_struct;   /* struct_size or pointers not as documented */
  int objects;      /* over all frames */
  int persons;      /* objects of class 0 */
  int events;
  vas_status_t destroy_rc; /* vas_pipeline_destroy from inside the callback */
  vas_status_t stop_rc;    /* vas_pipeline_stop from inside the callback */
  int tried_reentry;
  int removed_events;     /* "channel"/"removed" */
  char removed_msg[1024]; /* the last one's message: the channel's final counters */
} seen_t;

static void on_result(const vas_frame_result_t* r, void* user) {
  seen_t* s = (seen_t*)user;
  size_t i;
  if (r == NULL || r->struct_size < sizeof(vas_frame_result_t) || r->channel == NULL ||
      strcmp(r->channel, "cam1") != 0 || (r->num_objects > 0 && r->objects == NULL)) {
    ++s->bad_struct;
    return;
  }
  if (r->frame != s->results) ++s->out_of_order;
  ++s->results;
  for (i = 0; i < r->num_objects; ++i) {
    const vas_object_t* o = &r->objects[i];
    if (o->struct_size != sizeof(vas_object_t) || o->x2 < o->x1 || o->y2 < o->y1) ++s->bad_struct;
    ++s->objects;
    if (o->class_id == 0) ++s->persons;
  }
  if (!s->tried_reentry && s->pipe != NULL) {
    /* Both would wait for this very thread: refused, never a deadlock. */
    s->tried_reentry = 1;
    s->destroy_rc = vas_pipeline_destroy(s->pipe);
    s->stop_rc = vas_pipeline_stop(s->pipe, 0);
  }
}

static void on_event(const vas_pipeline_event_t* e, void* user) {
  seen_t* s = (seen_t*)user;
  if (e == NULL || e->struct_size < sizeof(vas_pipeline_event_t) || e->kind == NULL ||
      e->channel == NULL || e->wall_us <= 0 || e->media_us < 0) {
    ++s->bad_struct;
    return;
  }
  ++s->events;
  if (strcmp(e->kind, "channel") == 0 && strcmp(e->subkind, "removed") == 0) {
    ++s->removed_events;
    snprintf(s->removed_msg, sizeof s->removed_msg, "%s", e->message);
  }
}

static int g_released = 0;
static void on_release(void* user) { ++*(int*)user; }

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_null_and_struct_size(void) {
  vas_pipeline_config_t cfg;
  vas_pipeline_t* sentinel = (vas_pipeline_t*)(void*)&cfg;
  vas_pipeline_t* p = sentinel;
  const char* json = NULL;

  CHECK(vas_pipeline_destroy(NULL) == VAS_OK);
  vas_pipeline_config_init(NULL);
  CHECK(vas_pipeline_create(NULL, &p) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("config is NULL");
  CHECK(p == sentinel);
  vas_pipeline_config_init(&cfg);
  CHECK(cfg.struct_size == sizeof(vas_pipeline_config_t));
  CHECK(vas_pipeline_create(&cfg, NULL) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("out is NULL");
  CHECK(vas_pipeline_create(&cfg, &p) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("config_json is NULL");
  cfg.struct_size = 4; /* smaller than the first public version */
  cfg.config_json = "{}";
  CHECK(vas_pipeline_create(&cfg, &p) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("struct_size");
  CHECK(p == sentinel);

  /* Every entry point refuses a NULL handle with a message naming itself. */
  CHECK(vas_pipeline_start(NULL) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("vas_pipeline_start");
  CHECK(vas_pipeline_stop(NULL, 1) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_add_channel(NULL, "{}") == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_remove_channel(NULL, "cam1") == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_update_rules(NULL, "cam1", "{}") == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_set_result_callback(NULL, on_result, NULL) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_set_event_callback(NULL, on_event, NULL) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_stats_json(NULL, &json) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(json == NULL);
  /* A failed zero-copy push still hands the pixels back, exactly once. */
  g_released = 0;
  CHECK(vas_pipeline_push_frame(NULL, "cam1", NULL, 0, on_release, &g_released) ==
        VAS_ERR_INVALID_ARGUMENT);
  CHECK(g_released == 1);
}

static void test_bad_config(void) {
  vas_pipeline_t* sentinel = (vas_pipeline_t*)(void*)&g_failures;
  vas_pipeline_t* p = sentinel;
  char buf[4096];

  CHECK(create("{\"models\": ", &p) == VAS_ERR_INVALID_CONFIG);
  CHECK(p == sentinel);
  CHECK(create("[1, 2]", &p) == VAS_ERR_INVALID_CONFIG);

  /* Unknown fields and bad values are named by their path. */
  snprintf(buf, sizeof buf, "%s", config_with(kPushChannel));
  buf[strlen(buf) - 1] = '\0';
  strcat(buf, ", \"chanels\": []}");
  CHECK(create(buf, &p) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("chanels");
  CHECK(create(config_with("{\"id\": \"cam1\", \"push\": true, \"policy\": \"sometimes\"}"), &p) ==
        VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("channels[0].policy");
  CHECK(create(config_with("{\"id\": \"cam1\", \"push\": true, \"detect_interval\": 0}"), &p) ==
        VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("detect_interval");
  CHECK(p == sentinel);
}

static int g_scheme_events = 0; /* "source" events whose message names the bad scheme */
static void on_scheme_event(const vas_pipeline_event_t* e, void* user) {
  (void)user;
  if (strcmp(e->kind, "source") == 0 && strstr(e->message, "gopher") != NULL) ++g_scheme_events;
}

static void test_unknown_source_scheme(void) {
  vas_pipeline_t* p = NULL;
  time_t until;
  vas_status_t rc = create(
      config_with("{\"id\": \"cam1\", \"source\": {\"url\": \"gopher://cam.example/1\"}}"), &p);
  if (rc != VAS_OK) { /* refused while parsing the config */
    CHECK(rc == VAS_ERR_INVALID_CONFIG);
    CHECK_MSG_HAS("gopher");
    return;
  }
  /* Otherwise refused when the source opens: by start(), or as a "source" event naming it
     (an error on a pipeline thread is an event, never a crash). */
  CHECK(vas_pipeline_set_event_callback(p, on_scheme_event, NULL) == VAS_OK);
  rc = vas_pipeline_start(p);
  if (rc != VAS_OK) {
    CHECK(rc == VAS_ERR_INVALID_CONFIG);
    CHECK_MSG_HAS("gopher");
  } else {
    until = time(NULL) + 5;
    while (time(NULL) < until) {
      const char* stats = NULL;
      CHECK(vas_pipeline_stats_json(p, &stats) == VAS_OK);
      if (stats != NULL && strstr(stats, "\"state\":\"error\"") != NULL) break;
    }
    /* drain: the queued source event is delivered before stop returns */
    CHECK(vas_pipeline_stop(p, 1) == VAS_OK);
    CHECK(g_scheme_events >= 1);
  }
  CHECK(vas_pipeline_destroy(p) == VAS_OK);
}

/* Reads the first NFRAMES frames of vtest.avi into `frames` (caller frees them). */
static int read_frames(unsigned char* frames[NFRAMES], int* w, int* h) {
  vas_video_reader_config_t rc;
  vas_video_reader_t* reader = NULL;
  int n = 0;
  vas_video_reader_config_init(&rc);
  rc.url = g_video;
  if (vas_video_reader_create(&rc, &reader) != VAS_OK) return 0;
  for (n = 0; n < NFRAMES; ++n) {
    vas_image_t img;
    int y;
    vas_image_init(&img);
    if (vas_video_reader_read(reader, &img, NULL) != VAS_OK) break;
    *w = img.width;
    *h = img.height;
    frames[n] = (unsigned char*)malloc((size_t)img.width * 3 * (size_t)img.height);
    for (y = 0; y < img.height; ++y) {
      memcpy(frames[n] + (size_t)y * (size_t)img.width * 3,
             img.planes[0] + (size_t)y * (size_t)img.strides[0], (size_t)img.width * 3);
    }
  }
  vas_video_reader_destroy(reader);
  return n;
}

static vas_image_t bgr(unsigned char* pixels, int w, int h) {
  vas_image_t img;
  vas_image_init(&img);
  img.format = VAS_PIXEL_FORMAT_BGR24;
  img.width = w;
  img.height = h;
  img.planes[0] = pixels;
  img.strides[0] = w * 3;
  return img;
}

static void test_push_run(void) {
  unsigned char* frames[NFRAMES];
  unsigned char gray[64 * 48];
  int w = 0, h = 0, n, i, released = 0;
  vas_pipeline_t* p = NULL;
  seen_t seen;
  vas_image_t img;
  const char* stats = NULL;

  n = read_frames(frames, &w, &h);
  CHECK(n == NFRAMES);
  if (n != NFRAMES) return;
  memset(&seen, 0, sizeof seen);
  CHECK(create(config_with(kPushChannel), &p) == VAS_OK);
  if (p == NULL) return;
  seen.pipe = p;
  CHECK(vas_pipeline_set_result_callback(p, on_result, &seen) == VAS_OK);
  CHECK(vas_pipeline_set_event_callback(p, on_event, &seen) == VAS_OK);

  /* Not running yet: refused, and the pixels come back at once. */
  img = bgr(frames[0], w, h);
  CHECK(vas_pipeline_push_frame(p, "cam1", &img, 0, on_release, &released) != VAS_OK);
  CHECK(released == 1);
  released = 0;

  CHECK(vas_pipeline_start(p) == VAS_OK);
  CHECK(vas_pipeline_start(p) == VAS_ERR_INVALID_ARGUMENT); /* already running */
  CHECK(vas_pipeline_set_result_callback(p, on_result, &seen) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_push_frame(p, "nope", &img, 0, NULL, NULL) == VAS_ERR_NOT_FOUND);
  CHECK_MSG_HAS("nope");
  /* Alternate zero-copy (released later) and copied pushes. */
  for (i = 0; i < n; ++i) {
    img = bgr(frames[i], w, h);
    CHECK(vas_pipeline_push_frame(p, "cam1", &img, (int64_t)i * 100000, (i % 2) ? on_release : NULL,
                                  &released) == VAS_OK);
  }
  /* A frame of another format or size than the channel's. */
  memset(gray, 0, sizeof gray);
  vas_image_init(&img);
  img.format = VAS_PIXEL_FORMAT_GRAY8;
  img.width = 64;
  img.height = 48;
  img.planes[0] = gray;
  img.strides[0] = 64;
  CHECK(vas_pipeline_push_frame(p, "cam1", &img, (int64_t)n * 100000, NULL, NULL) ==
        VAS_ERR_INVALID_ARGUMENT);
  /* A malformed image: NULL plane. */
  img = bgr(NULL, w, h);
  CHECK(vas_pipeline_push_frame(p, "cam1", &img, (int64_t)n * 100000, NULL, NULL) ==
        VAS_ERR_INVALID_ARGUMENT);

  CHECK(vas_pipeline_stats_json(p, &stats) == VAS_OK);
  CHECK(stats != NULL && strstr(stats, "\"cam1\"") != NULL);
  CHECK(vas_pipeline_stop(p, 1) == VAS_OK); /* drain: every queued frame is delivered */

  CHECK(seen.results == n);
  CHECK(seen.out_of_order == 0);
  CHECK(seen.bad_struct == 0);
  CHECK(seen.persons > 0); /* vtest.avi's first frames hold several walkers */
  CHECK(released == n / 2);
  CHECK(seen.tried_reentry == 1);
  CHECK(seen.destroy_rc == VAS_ERR_INVALID_ARGUMENT);
  CHECK(seen.stop_rc == VAS_ERR_INVALID_ARGUMENT);

  /* After stop: pushes are refused (and released), stop again is fine, stats still work. */
  released = 0;
  img = bgr(frames[0], w, h);
  CHECK(vas_pipeline_push_frame(p, "cam1", &img, (int64_t)(n + 1) * 100000, on_release,
                                &released) != VAS_OK);
  CHECK(released == 1);
  CHECK(vas_pipeline_stop(p, 0) == VAS_OK);
  CHECK(vas_pipeline_stats_json(p, &stats) == VAS_OK);
  CHECK(strstr(stats, "\"processed\":6") != NULL || strstr(stats, "\"processed\": 6") != NULL);
  CHECK(vas_pipeline_update_rules(p, "nope", "{\"rules\": []}") == VAS_ERR_NOT_FOUND);
  CHECK(vas_pipeline_remove_channel(p, "nope") == VAS_ERR_NOT_FOUND);
  /* Removing hands back the final counters in the channel's last event, before the return. */
  CHECK(seen.removed_events == 0);
  CHECK(vas_pipeline_remove_channel(p, "cam1") == VAS_OK);
  CHECK(seen.removed_events == 1);
  CHECK(strstr(seen.removed_msg, "\"id\":\"cam1\"") != NULL);
  CHECK(strstr(seen.removed_msg, "\"state\":\"removed\"") != NULL);
  CHECK(strstr(seen.removed_msg, "\"decoded\":6,") != NULL);
  CHECK(strstr(seen.removed_msg, "\"processed\":6,") != NULL);
  CHECK(vas_pipeline_add_channel(p, kPushChannel) == VAS_OK); /* the id is free again */
  CHECK(vas_pipeline_add_channel(p, "{\"id\": \"cam1\", \"push\": true}") != VAS_OK); /* dup */
  CHECK_MSG_HAS("cam1");
  CHECK(vas_pipeline_destroy(p) == VAS_OK);
  for (i = 0; i < n; ++i) free(frames[i]);
}

/* ---- logging ---------------------------------------------------------------------------- */

static int g_log_calls = 0;
static int g_log_saw_pool = 0;
static void on_log(int32_t level, const char* message, void* user) {
  CHECK(user == &g_log_calls);
  CHECK(level >= VAS_LOG_WARN);
  ++g_log_calls;
  if (strstr(message, "pool 'leaky'") != NULL) ++g_log_saw_pool;
  /* Re-entrant configuration is refused, never a deadlock. */
  CHECK(vas_set_log_callback(NULL, NULL, VAS_LOG_WARN) == VAS_ERR_INVALID_ARGUMENT);
}

static void leak_one_buffer(void) {
  vas_pool_config_t pc;
  vas_pool_t* pool = NULL;
  void* buf = NULL;
  vas_pool_config_init(&pc);
  pc.name = "leaky";
  pc.min_block = pc.max_block = 64;
  pc.capacity_bytes = 64;
  CHECK(vas_pool_create(&pc, &pool) == VAS_OK);
  CHECK(vas_pool_acquire(pool, 64, &buf) == VAS_OK);
  vas_pool_destroy(pool); /* logs a warning: one buffer still out */
  vas_buffer_release(buf);
}

static void test_log_callback(void) {
  CHECK(vas_set_log_callback(on_log, &g_log_calls, 7) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("level");
  CHECK(vas_set_log_callback(on_log, &g_log_calls, VAS_LOG_WARN) == VAS_OK);
  leak_one_buffer();
  CHECK(g_log_calls == 1);
  CHECK(g_log_saw_pool == 1);
  /* Above the message's level: filtered out. */
  CHECK(vas_set_log_callback(on_log, &g_log_calls, VAS_LOG_ERROR) == VAS_OK);
  leak_one_buffer();
  CHECK(g_log_calls == 1);
  /* Back to the default sink (stderr): the callback is never called again. */
  CHECK(vas_set_log_callback(NULL, NULL, VAS_LOG_OFF) == VAS_OK);
  leak_one_buffer();
  CHECK(g_log_calls == 1);
  CHECK(vas_set_log_callback(NULL, NULL, VAS_LOG_WARN) == VAS_OK);
}

int main(void) {
  asset(g_model, sizeof g_model, "yolov3-tiny.onnx");
  asset(g_video, sizeof g_video, "vtest.avi");
  test_null_and_struct_size();
  test_bad_config();
  test_unknown_source_scheme();
  test_push_run();
  test_log_callback();
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("all C API pipeline checks passed\n");
  return 0;
}
