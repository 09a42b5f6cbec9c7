/* Strict C99 tests of the live view's C ABI (vas_pipeline_live_watch, vas_pipeline_live_frame),
   linked only against libvasdk: NULL arguments, a short struct_size, bad timeouts, unknown
   channels, out-parameters left untouched on error, nothing without a viewer, and real JPEGs
   of pushed frames with an older struct filled only as far as it goes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vasdk/vasdk.h>

#include "capi_check.h"

#define W 320
#define H 240

int main(void) {
  char model[1024], json[2048];
  const char* dir = getenv("VASDK_ASSETS");
  snprintf(model, sizeof model, "%s/yolov3-tiny.onnx", dir ? dir : ".cache/assets");
  snprintf(json, sizeof json,
           "{\"models\": {\"detector\": {\"model\": \"%s\", \"options\": {\"threads\": 1, "
           "\"input_width\": 320, \"input_height\": 256}}}, \"channels\": [{\"id\": \"cam\", "
           "\"push\": true, \"queue\": 4, \"policy\": \"block\", \"analytics\": {\"rules\": "
           "{\"rules\": [{\"id\": \"door\", \"type\": \"line_crossing\", \"line\": [[10, 20], "
           "[300, 20]]}]}}}]}",
           model);
  vas_pipeline_config_t cfg;
  vas_pipeline_config_init(&cfg);
  cfg.config_json = json;
  vas_pipeline_t* p = NULL;
  if (vas_pipeline_create(&cfg, &p) != VAS_OK) {
    fprintf(stderr, "create: %s\n", vas_last_error_message());
    return 1;
  }
  CHECK(vas_pipeline_start(p) == VAS_OK);

  vas_live_frame_t f;
  memset(&f, 0, sizeof f);
  f.struct_size = sizeof f;
  f.seq = 777; /* every failed call leaves it */

  CHECK(vas_pipeline_live_watch(NULL, "cam", 1) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_live_watch(p, NULL, 1) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("channel_id");
  CHECK(vas_pipeline_live_watch(p, "nosuch", 1) == VAS_ERR_NOT_FOUND);
  CHECK_MSG_HAS("nosuch");
  CHECK(vas_pipeline_live_watch(p, "cam", 0) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("no viewer");
  CHECK(vas_pipeline_live_frame(NULL, "cam", 0, 10, &f) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_live_frame(p, "cam", 0, 10, NULL) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_live_frame(p, "cam", 0, -1, &f) == VAS_ERR_INVALID_ARGUMENT);
  CHECK_MSG_HAS("timeout_ms");
  CHECK(vas_pipeline_live_frame(p, "cam", 0, 60001, &f) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_pipeline_live_frame(p, "nosuch", 0, 10, &f) == VAS_ERR_NOT_FOUND);
  /* Nobody watches: no picture is made, the wait times out. */
  CHECK(vas_pipeline_live_frame(p, "cam", 0, 30, &f) == VAS_ERR_TIMEOUT);
  CHECK(f.seq == 777 && f.jpeg == NULL);
  {
    vas_live_frame_t bad;
    memset(&bad, 0, sizeof bad);
    bad.struct_size = 4;
    CHECK(vas_pipeline_live_frame(p, "cam", 0, 10, &bad) == VAS_ERR_INVALID_ARGUMENT);
    CHECK_MSG_HAS("struct_size");
  }

  CHECK(vas_pipeline_live_watch(p, "cam", 1) == VAS_OK);
  {
    static uint8_t pixels[W * H * 3];
    vas_image_t img;
    int got = 0, i;
    memset(pixels, 90, sizeof pixels);
    vas_image_init(&img);
    img.format = VAS_PIXEL_FORMAT_BGR24;
    img.width = W;
    img.height = H;
    img.planes[0] = pixels;
    img.strides[0] = W * 3;
    for (i = 0; i < 100 && !got; ++i) {
      CHECK(vas_pipeline_push_frame(p, "cam", &img, (int64_t)i * 40000, NULL, NULL) == VAS_OK);
      got = vas_pipeline_live_frame(p, "cam", 0, 200, &f) == VAS_OK;
    }
    CHECK(got);
    if (got) {
      vas_live_frame_t old;
      CHECK(f.width == W && f.height == H && f.seq >= 1 && f.jpeg_size > 100);
      CHECK(f.jpeg != NULL && f.jpeg[0] == 0xFF && f.jpeg[1] == 0xD8);
      /* An older caller knowing only the first 16 bytes gets only those. */
      memset(&old, 0xAB, sizeof old);
      old.struct_size = 16;
      CHECK(vas_pipeline_live_frame(p, "cam", 0, 10, &old) == VAS_OK);
      CHECK(old.width == W && old.height == H);
      CHECK(old.seq == 0xABABABABABABABABull); /* beyond its struct_size: untouched */
      /* Nothing newer than the newest: a timeout, f untouched. */
      old.struct_size = sizeof old;
      old.seq = 5;
      CHECK(vas_pipeline_live_frame(p, "cam", UINT64_MAX, 10, &old) == VAS_ERR_TIMEOUT);
      CHECK(old.seq == 5);
    }
  }
  CHECK(vas_pipeline_live_watch(p, "cam", 0) == VAS_OK);
  CHECK(vas_pipeline_stop(p, 0) == VAS_OK);
  CHECK(vas_pipeline_destroy(p) == VAS_OK);
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("all C API live view checks passed\n");
  return 0;
}
