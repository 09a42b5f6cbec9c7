/* Strict C99 (plus POSIX mmap/fork) test of hostile sizes through the C ABI: image widths,
   heights and strides around every overflow boundary on each image-taking entry point, pool
   configs at and past their limits, and foreign pointers given to vas_buffer_retain/release,
   one of them just after an unreadable page. Meant to run under ASan too (sanitize stage). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vasdk/vasdk.h>

#include "capi_check.h"

/* Enough for every image below that is expected to pass validation. */
#define PIXEL_BYTES (4u << 20)
static uint8_t* g_pixels;

typedef struct geometry {
  int32_t format, width, height, stride; /* every plane gets `stride` */
  int valid;
} geometry_t;

#define MAXD VAS_IMAGE_MAX_DIMENSION
/* Around each boundary: BGR rows wrap int at width 715827883; the per-side limit; a plane
   whose stride * rows passes VAS_IMAGE_MAX_PLANE_BYTES; negative and wrapped strides. */
static const geometry_t kCases[] = {
    {VAS_PIXEL_FORMAT_BGR24, 715827883, 1, 64, 0},         /* 3 * width wraps negative */
    {VAS_PIXEL_FORMAT_BGR24, 715827882, 1, 2147483646, 0}, /* no wrap, over the limit */
    {VAS_PIXEL_FORMAT_RGB24, 2147483647, 1, 64, 0},
    {VAS_PIXEL_FORMAT_BGR24, MAXD + 1, 2, (MAXD + 1) * 3, 0},
    {VAS_PIXEL_FORMAT_BGR24, MAXD, 2, MAXD * 3, 1},
    {VAS_PIXEL_FORMAT_GRAY8, 16, MAXD + 1, 16, 0},
    {VAS_PIXEL_FORMAT_GRAY8, 16, MAXD, 16, 1},
    {VAS_PIXEL_FORMAT_GRAY8, 16, 32768, 65536, 0},  /* stride * rows = 2^31 */
    {VAS_PIXEL_FORMAT_GRAY8, 16, 2, 1073741824, 0}, /* 2^31 again */
    {VAS_PIXEL_FORMAT_GRAY8, 16, 2, 2147483647, 0}, /* 2 rows of INT32_MAX wrap int */
    {VAS_PIXEL_FORMAT_BGR24, 16, 16, -48, 0},
    {VAS_PIXEL_FORMAT_BGR24, 16, 16, INT32_MIN, 0},
    {VAS_PIXEL_FORMAT_NV12, 2147483646, 2, 64, 0},
    {VAS_PIXEL_FORMAT_NV12, MAXD, 2, MAXD, 1},
    {VAS_PIXEL_FORMAT_I420, MAXD + 2, 2, MAXD + 2, 0},
    {VAS_PIXEL_FORMAT_I420, 64, MAXD, 64, 1},
    {VAS_PIXEL_FORMAT_NV21, 64, 2147483646, 64, 0},
};

static vas_image_t image_of(const geometry_t* g) {
  vas_image_t img;
  int p;
  vas_image_init(&img);
  img.format = g->format;
  img.width = g->width;
  img.height = g->height;
  for (p = 0; p < 3; ++p) {
    img.planes[p] = g_pixels;
    img.strides[p] = g->stride;
  }
  return img;
}

/* Valid cases must succeed, the others fail with VAS_ERR_INVALID_ARGUMENT. */
static void check_case(const char* fn, size_t i, vas_status_t st) {
  const geometry_t* g = &kCases[i];
  if (g->valid ? st != VAS_OK : st != VAS_ERR_INVALID_ARGUMENT) {
    fprintf(stderr, "%s: case %zu (%dx%d stride %d format %d): status %d, %s\n", fn, i, g->width,
            g->height, g->stride, g->format, (int)st, vas_last_error_message());
    ++g_failures;
  }
}

static void test_preprocess_limits(void) {
  vas_preprocessor_t* pre = NULL;
  vas_preprocess_spec_t spec;
  static float out[3 * 32 * 32];
  vas_box_transform_t tf;
  size_t i;
  CHECK(vas_preprocessor_create(NULL, &pre) == VAS_OK);
  vas_preprocess_spec_init(&spec);
  spec.width = spec.height = 32;
  for (i = 0; i < sizeof(kCases) / sizeof(kCases[0]); ++i) {
    vas_image_t img = image_of(&kCases[i]);
    const vas_image_t* one = &img;
    check_case("vas_preprocess", i, vas_preprocess(pre, &img, &spec, out, sizeof(out), &tf));
    check_case("vas_preprocess_batch", i,
               vas_preprocess_batch(pre, &one, 1, &spec, out, sizeof(out), &tf));
  }
  vas_preprocessor_destroy(pre);
}

static void test_detector_limits(void) {
  char model[1024];
  const char* dir = getenv("VASDK_ASSETS");
  vas_detector_config_t cfg;
  vas_detector_t* det = NULL;
  size_t i;
  snprintf(model, sizeof(model), "%s/yolov3-tiny.onnx", dir ? dir : ".cache/assets");
  vas_detector_config_init(&cfg);
  cfg.model_path = model;
  cfg.options_json = "{\"threads\": 1, \"input_width\": 64, \"input_height\": 64}";
  CHECK(vas_detector_create(&cfg, &det) == VAS_OK);
  if (det == NULL) return;
  for (i = 0; i < sizeof(kCases) / sizeof(kCases[0]); ++i) {
    vas_image_t img = image_of(&kCases[i]);
    const vas_detection_t* items = NULL;
    size_t count = 0;
    check_case("vas_detector_detect", i, vas_detector_detect(det, &img, &items, &count));
  }
  vas_detector_destroy(det);
}

static void test_best_shot_limits(void) {
  vas_best_shot_config_t cfg;
  vas_best_shot_selector_t* sel = NULL;
  vas_track_t t;
  size_t i;
  vas_best_shot_config_init(&cfg);
  CHECK(vas_best_shot_selector_create(&cfg, &sel) == VAS_OK);
  if (sel == NULL) return;
  memset(&t, 0, sizeof(t));
  t.track_id = 1;
  t.parent_track_id = -1;
  t.x1 = 2;
  t.y1 = 0;
  t.x2 = 14;
  t.y2 = 2;
  t.score = 0.9f;
  t.state = VAS_TRACK_CONFIRMED;
  t.hits = t.age = 5;
  for (i = 0; i < sizeof(kCases) / sizeof(kCases[0]); ++i) {
    vas_image_t img = image_of(&kCases[i]);
    const vas_best_shot_t* shots = NULL;
    size_t n = 0;
    check_case("vas_best_shot_selector_update", i,
               vas_best_shot_selector_update(sel, &img, &t, 1, (int64_t)i, &shots, &n));
  }
  vas_best_shot_selector_destroy(sel);
}

/* Creates a pool in a child process that must finish within a second, so that a hang or an
   unbounded allocation fails the test instead of stalling it. Returns the child's status
   code, or 1000 when it was killed or timed out. */
static int create_in_child(const vas_pool_config_t* cfg, const char* field) {
  pid_t pid;
  int wstatus = 0;
  fflush(stderr);
  pid = fork();
  if (pid == 0) {
    vas_pool_t* pool = NULL;
    vas_status_t st;
    alarm(1);
    st = vas_pool_create(cfg, &pool);
    if (st == VAS_OK) {
      vas_pool_destroy(pool);
      _exit(0);
    }
    if (field != NULL && strstr(vas_last_error_message(), field) == NULL) {
      fprintf(stderr, "message does not name %s: %s\n", field, vas_last_error_message());
      _exit(99);
    }
    _exit(-st);
  }
  if (pid < 0 || waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus)) return 1000;
  return WEXITSTATUS(wstatus);
}

static void test_pool_limits(void) {
  const int invalid = -VAS_ERR_INVALID_ARGUMENT;
  vas_pool_config_t cfg;
  vas_pool_config_init(&cfg);
  cfg.min_block = 4096;
  cfg.max_block = SIZE_MAX - 4095; /* the hang: class sizes doubled past SIZE_MAX */
  cfg.capacity_bytes = 1u << 20;
  CHECK(create_in_child(&cfg, "max_block") == invalid);
  cfg.capacity_bytes = SIZE_MAX;
  CHECK(create_in_child(&cfg, "max_block") == invalid);
  cfg.max_block = VAS_POOL_MAX_BLOCK + 1;
  CHECK(create_in_child(&cfg, "max_block") == invalid);
  cfg.max_block = VAS_POOL_MAX_BLOCK;
  CHECK(create_in_child(&cfg, NULL) == 0);
  cfg.capacity_bytes = VAS_POOL_MAX_BLOCK - 1;
  CHECK(create_in_child(&cfg, "capacity_bytes") == invalid);
  cfg.max_block = 8192;
  cfg.capacity_bytes = 4096; /* can hold min_block but never a max_block */
  CHECK(create_in_child(&cfg, "capacity_bytes") == invalid);
  cfg.capacity_bytes = 1u << 20;
  cfg.alignment = (size_t)1 << 62;
  CHECK(create_in_child(&cfg, "alignment") == invalid);
  cfg.alignment = VAS_POOL_MAX_ALIGNMENT * 2;
  CHECK(create_in_child(&cfg, "alignment") == invalid);
  cfg.alignment = VAS_POOL_MAX_ALIGNMENT;
  CHECK(create_in_child(&cfg, NULL) == 0);
  cfg.alignment = 64;
  cfg.min_block = 1;
  cfg.max_block = VAS_POOL_MAX_BLOCK; /* 49 size classes, none allocated */
  cfg.capacity_bytes = SIZE_MAX;
  CHECK(create_in_child(&cfg, NULL) == 0);

  /* A valid maximal-alignment pool serves aligned buffers. */
  {
    vas_pool_t* pool = NULL;
    void* a = NULL;
    cfg.min_block = cfg.max_block = 4096;
    cfg.capacity_bytes = 1u << 20;
    cfg.alignment = 1u << 16;
    CHECK(vas_pool_create(&cfg, &pool) == VAS_OK);
    CHECK(vas_pool_acquire(pool, 100, &a) == VAS_OK);
    CHECK(((uintptr_t)a & ((1u << 16) - 1)) == 0);
    vas_buffer_release(a);
    vas_pool_destroy(pool);
  }
}

static void test_foreign_pointers(void) {
  const long page = sysconf(_SC_PAGESIZE);
  unsigned char* map;
  unsigned char* foreign;
  vas_pool_config_t cfg;
  vas_pool_t* pool = NULL;
  void* a = NULL;
  void* heap = malloc(256);

  /* Two pages, the first unreadable: reading in front of `foreign` faults. */
  map = (unsigned char*)mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(map != MAP_FAILED);
  if (map == MAP_FAILED) return;
  CHECK(mprotect(map, (size_t)page, PROT_NONE) == 0);
  foreign = map + page;
  memset(foreign, 0xAB, (size_t)page);
  CHECK(vas_buffer_retain(foreign) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("not a pool buffer");
  vas_buffer_release(foreign); /* a no-op */
  CHECK(vas_buffer_retain(foreign + 64) == VAS_ERR_INVALID_ARGUMENT);
  vas_buffer_release(foreign + 64);
  CHECK(vas_buffer_retain(heap) == VAS_ERR_INVALID_ARGUMENT);
  vas_buffer_release(heap);

  /* Inside a real buffer, and a buffer already released, are not pool buffers either. */
  vas_pool_config_init(&cfg);
  cfg.min_block = cfg.max_block = 4096;
  cfg.capacity_bytes = 8192;
  CHECK(vas_pool_create(&cfg, &pool) == VAS_OK);
  CHECK(vas_pool_acquire(pool, 4096, &a) == VAS_OK);
  CHECK(vas_buffer_retain((unsigned char*)a + 8) == VAS_ERR_INVALID_ARGUMENT);
  vas_buffer_release((unsigned char*)a + 8);
  CHECK(vas_buffer_retain(a) == VAS_OK);
  vas_buffer_release(a);
  vas_buffer_release(a); /* back in the pool's cache */
  CHECK(vas_buffer_retain(a) == VAS_ERR_INVALID_ARGUMENT);
  vas_buffer_release(a); /* must not give the cached block a negative count */
  {
    vas_pool_stats_t st;
    vas_pool_stats_init(&st);
    CHECK(vas_pool_get_stats(pool, &st) == VAS_OK);
    CHECK(st.in_use_buffers == 0);
  }
  vas_pool_destroy(pool);
  munmap(map, (size_t)page * 2);
  free(heap);
}

int main(void) {
  g_pixels = (uint8_t*)calloc(PIXEL_BYTES, 1);
  if (g_pixels == NULL) return 1;
  test_pool_limits();
  test_foreign_pointers();
  test_preprocess_limits();
  test_best_shot_limits();
  test_detector_limits();
  free(g_pixels);
  if (g_failures) fprintf(stderr, "%d check(s) failed\n", g_failures);
  return g_failures ? 1 : 0;
}
