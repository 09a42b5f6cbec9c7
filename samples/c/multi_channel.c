/*
 * multi_channel: N cameras or files through one vasdk pipeline. Prints every rule event as it
 * happens, a stats line per channel every second, and stops cleanly on Ctrl-C (SIGINT) or
 * after SECONDS.
 *
 *   multi_channel MODEL.onnx [-t SECONDS] [-l Y] URL_OR_FILE...
 *
 * Each source becomes channel camN with a line-crossing rule across the frame at row Y
 * (default 300, the walkway of OpenCV's vtest.avi) and an intrusion zone on its left half.
 * C99, linked only against libvasdk.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vasdk/vasdk.h>

static volatile sig_atomic_t g_stop = 0;
static void on_sigint(int sig) {
  (void)sig;
  g_stop = 1;
}

/* Runs on a pipeline worker thread, one call at a time per channel: keep it short. */
static void on_event(const vas_pipeline_event_t* e, void* user) {
  (void)user;
  if (strcmp(e->kind, "rule") == 0) {
    printf("event %s %s %s track %lld\n", e->channel, e->rule_id, e->subkind,
           (long long)e->track_id);
  } else if (strcmp(e->kind, "source") == 0) {
    printf("source %s %s %s\n", e->channel, e->subkind, e->message);
  }
  fflush(stdout);
}

static int fail(const char* what, vas_status_t st) {
  fprintf(stderr, "%s failed: %s: %s\n", what, vas_status_str(st), vas_last_error_message());
  return 1;
}

/* Appends printf-style text to buf (size cap), returning 0 when it no longer fits. */
static int append(char* buf, size_t cap, const char* text) {
  size_t used = strlen(buf), n = strlen(text);
  if (used + n + 1 > cap) return 0;
  memcpy(buf + used, text, n + 1);
  return 1;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

int main(int argc, char** argv) {
  char config[16384] = "", part[2048];
  const char *model, *stats;
  double seconds = 0;
  int line_y = 300, first, i, tick = 0;
  vas_pipeline_config_t cfg;
  vas_pipeline_t* pipe = NULL;
  vas_status_t st;

  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL.onnx [-t SECONDS] [-l Y] URL_OR_FILE...\n", argv[0]);
    return 2;
  }
  model = argv[1];
  for (first = 2; first + 1 < argc && argv[first][0] == '-'; first += 2) {
    if (strcmp(argv[first], "-t") == 0) seconds = atof(argv[first + 1]);
    if (strcmp(argv[first], "-l") == 0) line_y = atoi(argv[first + 1]);
  }
  if (first >= argc) {
    fprintf(stderr, "no sources given\n");
    return 2;
  }

  snprintf(part, sizeof part,
           "{\"models\": {\"detector\": {\"model\": \"%s\", \"options\": "
           "{\"classes\": [\"person\", \"car\", \"truck\"]}}}, \"channels\": [",
           model);
  append(config, sizeof config, part);
  for (i = first; i < argc; ++i) {
    int rtsp = strncmp(argv[i], "rtsp://", 7) == 0;
    snprintf(part, sizeof part,
             "%s{\"id\": \"cam%d\", \"source\": {\"url\": \"%s\", \"realtime\": %s}, "
             "\"analytics\": {\"tracker\": {\"type\": \"bytetrack\"}, \"rules\": {\"rules\": ["
             "{\"id\": \"line\", \"type\": \"line_crossing\", \"line\": [[0, %d], [4000, %d]]}, "
             "{\"id\": \"zone\", \"type\": \"intrusion\", \"polygon\": "
             "[[0, 0], [380, 0], [380, 576], [0, 576]]}]}}}",
             i == first ? "" : ", ", i - first, argv[i], rtsp ? "false" : "true", line_y, line_y);
    if (!append(config, sizeof config, part)) {
      fprintf(stderr, "too many sources\n");
      return 2;
    }
  }
  append(config, sizeof config, "]}");

  vas_pipeline_config_init(&cfg);
  cfg.config_json = config;
  st = vas_pipeline_create(&cfg, &pipe);
  if (st != VAS_OK) return fail("vas_pipeline_create", st);
  vas_pipeline_set_event_callback(pipe, on_event, NULL);
  signal(SIGINT, on_sigint);
  st = vas_pipeline_start(pipe);
  if (st != VAS_OK) {
    vas_pipeline_destroy(pipe);
    return fail("vas_pipeline_start", st);
  }

  while (!g_stop && (seconds <= 0 || tick < seconds * 10)) {
    sleep_ms(100);
    if (++tick % 10 == 0 && vas_pipeline_stats_json(pipe, &stats) == VAS_OK) {
      printf("stats %s\n", stats);
      fflush(stdout);
    }
  }
  st = vas_pipeline_stop(pipe, g_stop ? 0 : 1);
  if (st != VAS_OK) fail("vas_pipeline_stop", st);
  if (vas_pipeline_stats_json(pipe, &stats) == VAS_OK) printf("final %s\n", stats);
  vas_pipeline_destroy(pipe);
  return st == VAS_OK ? 0 : 1;
}
