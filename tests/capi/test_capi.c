/* Strict C99 tests of the C ABI, linked only against libvasdk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vasdk/vasdk.h>

#include "capi_check.h"

static char g_model[1024], g_video[1024];

static void asset(char* out, size_t n, const char* name) {
  const char* dir = getenv("VASDK_ASSETS");
  snprintf(out, n, "%s/%s", dir ? dir : ".cache/assets", name);
}

static void test_version_and_status(void) {
  CHECK(vas_version_number() == VAS_VERSION_NUMBER);
  CHECK(strlen(vas_version()) >= 5);
  CHECK(strcmp(vas_status_str(VAS_OK), "VAS_OK") == 0);
  CHECK(strcmp(vas_status_str(VAS_ERR_NOT_FOUND), "VAS_ERR_NOT_FOUND") == 0);
  CHECK(strcmp(vas_status_str(-999), "VAS_ERR_UNKNOWN") == 0);
}

static void test_destroy_null(void) {
  vas_detector_destroy(NULL);
  vas_video_reader_destroy(NULL);
  vas_image_init(NULL);
  vas_detector_config_init(NULL);
  vas_video_reader_config_init(NULL);
}

static void test_detector_bad_args(void) {
  vas_detector_config_t cfg;
  vas_detector_t* sentinel = (vas_detector_t*)(void*)&cfg; /* must stay untouched on error */
  vas_detector_t* det = sentinel;

  CHECK(vas_detector_create(NULL, &det) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(det == sentinel);
  vas_detector_config_init(&cfg);
  CHECK(vas_detector_create(&cfg, NULL) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_detector_create(&cfg, &det) == VAS_ERR_INVALID_ARGUMENT); /* NULL model_path */
  CHECK_MSG_HAS("model_path");
  CHECK(det == sentinel);

  /* An older struct_size below the first public version is rejected, not over-read. */
  cfg.model_path = g_model;
  cfg.struct_size = 8;
  CHECK(vas_detector_create(&cfg, &det) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("struct_size");
  CHECK(det == sentinel);

  vas_detector_config_init(&cfg);
  cfg.model_path = "/nonexistent/model.onnx";
  CHECK(vas_detector_create(&cfg, &det) == VAS_ERR_NOT_FOUND);
  CHECK_MSG_HAS("/nonexistent/model.onnx");
  CHECK(det == sentinel);

  cfg.model_path = g_model;
  cfg.options_json = "{\"threads\": ";
  CHECK(vas_detector_create(&cfg, &det) == VAS_ERR_INVALID_CONFIG);
  cfg.options_json = "{\"no_such_option\": 1}";
  CHECK(vas_detector_create(&cfg, &det) == VAS_ERR_INVALID_CONFIG);
  CHECK_MSG_HAS("no_such_option");
  cfg.options_json = "{\"ort_library\": \"/nonexistent/libonnxruntime.so.1\"}";
  CHECK(vas_detector_create(&cfg, &det) == VAS_ERR_BACKEND_UNAVAILABLE);
  CHECK_MSG_HAS("libonnxruntime");
  CHECK(det == sentinel);
}

/* A newer caller (bigger struct_size) is accepted; the library reads only what it knows. */
struct future_config {
  vas_detector_config_t base;
  int64_t new_field;
};

static void test_detect_video(void) {
  struct future_config fcfg;
  vas_detector_t* det = NULL;
  vas_video_reader_config_t rcfg;
  vas_video_reader_t* reader = NULL;
  vas_video_info_t info;
  vas_detector_info_t dinfo;
  vas_image_t frame, bad;
  const vas_detection_t* items = NULL;
  const vas_detection_t* items_before;
  const char* name = NULL;
  size_t n = 0, n_before;
  int i, people = 0;
  vas_status_t st;
  uint8_t pixels[4 * 4 * 3];

  memset(&fcfg, 0, sizeof(fcfg));
  vas_detector_config_init(&fcfg.base);
  fcfg.base.struct_size = sizeof(fcfg);
  fcfg.base.model_path = g_model;
  fcfg.base.options_json = "{\"threads\": 2}";
  fcfg.new_field = 42;
  st = vas_detector_create(&fcfg.base, &det);
  CHECK(st == VAS_OK);
  if (st != VAS_OK) {
    fprintf(stderr, "create: %s\n", vas_last_error_message());
    return;
  }

  memset(&dinfo, 0, sizeof(dinfo));
  dinfo.struct_size = sizeof(dinfo);
  CHECK(vas_detector_get_info(det, &dinfo) == VAS_OK);
  CHECK(dinfo.input_width == 768 && dinfo.input_height == 576 && dinfo.num_classes == 80);
  CHECK(strncmp(dinfo.backend, "ort", 3) == 0);
  /* An old, shorter info struct gets only its own bytes. */
  {
    struct {
      uint32_t struct_size;
      int32_t input_width;
      int32_t guard;
    } small;
    small.struct_size = 8;
    small.guard = 12345;
    CHECK(vas_detector_get_info(det, (vas_detector_info_t*)(void*)&small) == VAS_OK);
    CHECK(small.input_width == 768 && small.guard == 12345 && small.struct_size == 8);
  }
  CHECK(vas_detector_get_class_name(det, 0, &name) == VAS_OK && strcmp(name, "person") == 0);
  name = NULL;
  CHECK(vas_detector_get_class_name(det, 80, &name) == VAS_ERR_INVALID_ARGUMENT && name == NULL);

  vas_video_reader_config_init(&rcfg);
  rcfg.url = g_video;
  CHECK(vas_video_reader_create(&rcfg, &reader) == VAS_OK);
  if (!reader) {
    vas_detector_destroy(det);
    return;
  }
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  CHECK(vas_video_reader_get_info(reader, &info) == VAS_OK);
  CHECK(info.width == 768 && info.height == 576 && info.frame_count == 795);

  vas_image_init(&frame);
  for (i = 0; i <= 300; ++i) CHECK(vas_video_reader_read(reader, &frame, NULL) == VAS_OK);
  CHECK(frame.format == VAS_PIXEL_FORMAT_BGR24 && frame.width == 768);
  CHECK(vas_detector_detect(det, &frame, &items, &n) == VAS_OK);
  for (i = 0; i < (int)n; ++i) people += items[i].class_id == 0 && items[i].score >= 0.5f;
  CHECK(people == 6);

  /* Bad images: error, out-params untouched, detector still usable. */
  items_before = items;
  n_before = n;
  vas_image_init(&bad);
  bad.format = VAS_PIXEL_FORMAT_BGR24;
  bad.width = 4;
  bad.height = 4;
  bad.planes[0] = pixels;
  bad.strides[0] = 11; /* smaller than the row */
  CHECK(vas_detector_detect(det, &bad, &items, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("stride");
  bad.strides[0] = 12;
  bad.width = 0;
  CHECK(vas_detector_detect(det, &bad, &items, &n) == VAS_ERR_INVALID_ARGUMENT);
  bad.width = 4;
  bad.format = 77;
  CHECK(vas_detector_detect(det, &bad, &items, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("pixel format");
  bad.format = VAS_PIXEL_FORMAT_BGR24;
  bad.planes[0] = NULL;
  CHECK(vas_detector_detect(det, &bad, &items, &n) == VAS_ERR_INVALID_ARGUMENT);
  bad.planes[0] = pixels;
  bad.struct_size = 4;
  CHECK(vas_detector_detect(det, &bad, &items, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_detector_detect(det, NULL, &items, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_detector_detect(NULL, &frame, &items, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_detector_detect(det, &frame, NULL, &n) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(items == items_before && n == n_before);
  CHECK(vas_detector_detect(det, &frame, &items, &n) == VAS_OK && n == n_before);

  /* Reading to the end gives VAS_END_OF_STREAM, repeatedly. */
  while ((st = vas_video_reader_read(reader, &frame, NULL)) == VAS_OK) {
  }
  CHECK(st == VAS_END_OF_STREAM);
  CHECK(vas_video_reader_read(reader, &frame, NULL) == VAS_END_OF_STREAM);

  vas_video_reader_destroy(reader);
  vas_detector_destroy(det);
}

static void test_reader_bad_args(void) {
  vas_video_reader_config_t cfg;
  vas_video_reader_t* sentinel = (vas_video_reader_t*)(void*)&cfg;
  vas_video_reader_t* r = sentinel;
  vas_video_reader_config_init(&cfg);
  CHECK(vas_video_reader_create(&cfg, &r) == VAS_ERR_INVALID_ARGUMENT); /* NULL url */
  cfg.url = "/nonexistent/video.mp4";
  CHECK(vas_video_reader_create(&cfg, &r) == VAS_ERR_NOT_FOUND);
  CHECK_MSG_HAS("/nonexistent/video.mp4");
  cfg.url = g_model; /* not a video */
  CHECK(vas_video_reader_create(&cfg, &r) < 0);
  cfg.url = g_video;
  cfg.output_format = VAS_PIXEL_FORMAT_GRAY8;
  CHECK(vas_video_reader_create(&cfg, &r) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(r == sentinel);
  CHECK(vas_video_reader_read(NULL, NULL, NULL) == VAS_ERR_INVALID_ARGUMENT);
}

int main(void) {
  asset(g_model, sizeof(g_model), "yolov3-tiny.onnx");
  asset(g_video, sizeof(g_video), "vtest.avi");
  test_version_and_status();
  test_destroy_null();
  test_detector_bad_args();
  test_reader_bad_args();
  test_detect_video();
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("C API tests passed\n");
  return 0;
}
