/*
 * multi_channel: N cameras or files through one vasdk pipeline. Prints every rule event as it
 * happens, a stats line per channel every second, and stops cleanly on Ctrl-C (SIGINT) or
 * after SECONDS.
 *
 *   multi_channel MODEL.onnx [-t SECONDS] [-l Y] [-b MAX_BATCH] [-q QUEUE] [-f FORMAT]
 *                 [-a MALLOC_ARENAS] [-r ORT_ARENA] URL_OR_FILE...
 *
 * Each source becomes channel camN with a line-crossing rule across the frame at row Y
 * (default 300, the walkway of OpenCV's vtest.avi) and an intrusion zone on its left half.
 * At exit it prints where the memory and the CPU went: resident memory before and after the
 * pipeline is created (model and engine), its peak while running and what it is made of
 * (libraries, frame pools, memory held by malloc in use and free, the engine's share, threads),
 * and the CPU ms per frame of each stage (from vas_pipeline_stats_json).
 *
 * Memory (measured in the top-level README): the sample runs lean by default. Batches of one
 * frame (-b 1; the pipeline's default is 4, which held about 100 MiB more of ORT activations
 * to save about 5% of inference CPU on 2 cores), frames kept as NV12 (-f nv12; bgr24 doubles the
 * frame pools), and one glibc malloc arena (-a 1; glibc gives every thread that allocates its own
 * arena, up to 8 per core, and each keeps what its thread freed; -a 0 keeps glibc's
 * default). The arena cap is the application's choice: the library never calls mallopt.
 * -r sets the detector's ORT "arena" option (shared, session, none).
 * C99, linked only against libvasdk.
 */
#define _GNU_SOURCE /* nanosleep, mallopt, mallinfo2 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <vasdk/vasdk.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

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

/* A field of /proc/self/status ("VmRSS", "RssFile", "Threads", ...): KiB for sizes, a count
   for Threads; -1 where there is none (not Linux). */
static long proc_status(const char* field) {
  char line[256];
  long value = -1;
  size_t n = strlen(field);
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, field, n) == 0 && line[n] == ':') {
      value = strtol(line + n + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return value;
}

static double kib_to_mib(long kib) { return kib < 0 ? -1 : kib / 1024.0; }

/* Resident memory now, in MiB. */
static double rss_mib(void) { return kib_to_mib(proc_status("VmRSS")); }

/* Peak resident memory of the process so far, in MiB (Linux reports ru_maxrss in KiB). */
static double peak_rss_mib(void) {
  struct rusage ru;
  return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : -1;
}

/* The number after "key": in json at or after `from` (0 when absent). A sample's shortcut:
   real applications parse the stats with a JSON library. */
static double number_after(const char* json, const char* from, const char* key) {
  char quoted[64];
  const char* at = from ? strstr(json, from) : json;
  if (!at) return 0;
  snprintf(quoted, sizeof quoted, "\"%s\":", key);
  at = strstr(at, quoted);
  return at ? strtod(at + strlen(quoted), NULL) : 0;
}

/* Sums every "key": number in json (one per channel for per-channel keys). */
static double sum_of(const char* json, const char* key) {
  char quoted[64];
  double sum = 0;
  const char* at = json;
  snprintf(quoted, sizeof quoted, "\"%s\":", key);
  while ((at = strstr(at, quoted)) != NULL) {
    at += strlen(quoted);
    sum += strtod(at, NULL);
  }
  return sum;
}

/* Where the resident memory is now (the pipeline stopped, nothing released yet): libraries
   and other file pages, then the anonymous part: frame pools, what malloc holds in use and
   free, and the rest (ORT's arena and big buffers are in malloc's mmapped blocks when glibc
   serves them). Thread stacks touch a few hundred KiB in all; the count is printed. */
static void print_memory(const char* stats, double rss_before, double rss_created) {
  const double mib = 1048576.0;
  double pools = sum_of(stats, "pool_reserved_bytes") / mib;
  printf(
      "memory: %.0f MiB before the pipeline, %.0f MiB once created (model, engine: +%.0f), "
      "peak %.0f MiB, now %.0f MiB\n",
      rss_before, rss_created, rss_created - rss_before, peak_rss_mib(), rss_mib());
  printf(
      "memory now: libraries and files %.0f MiB, anonymous %.0f MiB: frame pools %.1f MiB "
      "(capacity %.1f)",
      kib_to_mib(proc_status("RssFile") + proc_status("RssShmem")),
      kib_to_mib(proc_status("RssAnon")), pools, sum_of(stats, "pool_capacity_bytes") / mib);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  {
    struct mallinfo2 mi = mallinfo2();
    double before = rss_mib();
    malloc_trim(0);
    printf(
        ", malloc: %.0f MiB in mmapped blocks, arenas %.0f MiB of which %.0f MiB free (%.0f "
        "MiB of it resident: malloc_trim returned that)",
        mi.hblkhd / mib, mi.arena / mib, mi.fordblks / mib, before - rss_mib());
  }
#endif
  printf("; %ld threads\n", proc_status("Threads"));
}

static void print_breakdown(const char* stats, double rss_before, double rss_created) {
  static const char* const stages[] = {"decode",    "preprocess", "inference", "postprocess",
                                       "analytics", "delivery",   "annotate",  "other"};
  size_t k;
  print_memory(stats, rss_before, rss_created);
  printf("cpu ms per frame over %.0f frames:",
         number_after(stats, "\"cpu_ms_per_frame\"", "frames"));
  for (k = 0; k < sizeof stages / sizeof stages[0]; ++k) {
    printf(" %s %.2f", stages[k], number_after(stats, "\"cpu_ms_per_frame\"", stages[k]));
  }
  printf(", process %.2f\n", number_after(stats, "\"cpu_ms_per_frame\"", "process"));
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

int main(int argc, char** argv) {
  char config[16384] = "", part[2048];
  const char *model, *stats, *arena = NULL, *format = "nv12";
  double seconds = 0, rss_before, rss_created;
  int line_y = 300, first, i, tick = 0, max_batch = 1, malloc_arenas = 1, queue = 4;
  vas_pipeline_config_t cfg;
  vas_pipeline_t* pipe = NULL;
  vas_status_t st;

  if (argc < 3) {
    fprintf(stderr,
            "usage: %s MODEL.onnx [-t SECONDS] [-l Y] [-b MAX_BATCH] [-q QUEUE] [-f FORMAT] "
            "[-a MALLOC_ARENAS] [-r ORT_ARENA] URL_OR_FILE...\n",
            argv[0]);
    return 2;
  }
  model = argv[1];
  for (first = 2; first + 1 < argc && argv[first][0] == '-'; first += 2) {
    if (strcmp(argv[first], "-t") == 0) seconds = atof(argv[first + 1]);
    if (strcmp(argv[first], "-l") == 0) line_y = atoi(argv[first + 1]);
    if (strcmp(argv[first], "-b") == 0) max_batch = atoi(argv[first + 1]);
    if (strcmp(argv[first], "-a") == 0) malloc_arenas = atoi(argv[first + 1]);
    if (strcmp(argv[first], "-r") == 0) arena = argv[first + 1];
    if (strcmp(argv[first], "-f") == 0) format = argv[first + 1];
    if (strcmp(argv[first], "-q") == 0) queue = atoi(argv[first + 1]);
  }
#if defined(__GLIBC__)
  /* Before any thread allocates: each would otherwise get an arena of its own. */
  if (malloc_arenas > 0) mallopt(M_ARENA_MAX, malloc_arenas);
#endif
  rss_before = rss_mib();
  if (first >= argc) {
    fprintf(stderr, "no sources given\n");
    return 2;
  }

  /* -b 0 and no -r leave the pipeline's defaults. */
  snprintf(part, sizeof part,
           "{\"models\": {\"detector\": {\"model\": \"%s\", \"options\": "
           "{\"classes\": [\"person\", \"car\", \"truck\"]%s%s%s}}}, ",
           model, arena ? ", \"arena\": \"" : "", arena ? arena : "", arena ? "\"" : "");
  append(config, sizeof config, part);
  if (max_batch > 0) {
    snprintf(part, sizeof part, "\"inference\": {\"max_batch\": %d}, ", max_batch);
    append(config, sizeof config, part);
  }
  append(config, sizeof config, "\"channels\": [");
  for (i = first; i < argc; ++i) {
    int rtsp = strncmp(argv[i], "rtsp://", 7) == 0;
    snprintf(part, sizeof part,
             "%s{\"id\": \"cam%d\", \"source\": {\"url\": \"%s\", \"realtime\": %s, "
             "\"format\": \"%s\"}, \"queue\": %d, "
             "\"analytics\": {\"tracker\": {\"type\": \"bytetrack\"}, \"rules\": {\"rules\": ["
             "{\"id\": \"line\", \"type\": \"line_crossing\", \"line\": [[0, %d], [4000, %d]]}, "
             "{\"id\": \"zone\", \"type\": \"intrusion\", \"polygon\": "
             "[[0, 0], [380, 0], [380, 576], [0, 576]]}]}}}",
             i == first ? "" : ", ", i - first, argv[i], rtsp ? "false" : "true", format, queue,
             line_y, line_y);
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
  rss_created = rss_mib();
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
  if (vas_pipeline_stats_json(pipe, &stats) == VAS_OK) {
    printf("final %s\n", stats);
    print_breakdown(stats, rss_before, rss_created);
  }
  vas_pipeline_destroy(pipe);
  return st == VAS_OK ? 0 : 1;
}
