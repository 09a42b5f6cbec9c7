/*
 * detect_video: prints the detections of every frame of a video file.
 *
 *   detect_video MODEL.onnx VIDEO [OPTIONS_JSON] [MAX_FRAMES]
 *
 * Output, one line per detection:  frame <i> <class> <score> <x1> <y1> <x2> <y2>
 * C99, linked only against libvasdk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <vasdk/vasdk.h>

static int report(const char* what, vas_status_t st) {
  fprintf(stderr, "%s failed: %s: %s\n", what, vas_status_str(st), vas_last_error_message());
  return 1;
}

int main(int argc, char** argv) {
  vas_detector_config_t dcfg;
  vas_video_reader_config_t rcfg;
  vas_detector_t* det = NULL;
  vas_video_reader_t* reader = NULL;
  vas_image_t frame;
  vas_status_t st;
  long max_frames = -1, index = 0, total = 0;
  int rc = 0;

  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL.onnx VIDEO [OPTIONS_JSON] [MAX_FRAMES]\n", argv[0]);
    return 2;
  }
  if (argc > 4) max_frames = strtol(argv[4], NULL, 10);

  vas_detector_config_init(&dcfg);
  dcfg.model_path = argv[1];
  dcfg.options_json = argc > 3 ? argv[3] : NULL;
  st = vas_detector_create(&dcfg, &det);
  if (st != VAS_OK) return report("vas_detector_create", st);

  vas_video_reader_config_init(&rcfg);
  rcfg.url = argv[2];
  st = vas_video_reader_create(&rcfg, &reader);
  if (st != VAS_OK) {
    vas_detector_destroy(det);
    return report("vas_video_reader_create", st);
  }

  vas_image_init(&frame);
  while (max_frames < 0 || index < max_frames) {
    const vas_detection_t* dets = NULL;
    size_t n = 0, i;
    st = vas_video_reader_read(reader, &frame, NULL);
    if (st == VAS_END_OF_STREAM) break;
    if (st != VAS_OK) {
      rc = report("vas_video_reader_read", st);
      break;
    }
    st = vas_detector_detect(det, &frame, &dets, &n);
    if (st != VAS_OK) {
      rc = report("vas_detector_detect", st);
      break;
    }
    for (i = 0; i < n; ++i) {
      const char* name = "?";
      vas_detector_get_class_name(det, dets[i].class_id, &name);
      printf("frame %ld %s %.4f %.2f %.2f %.2f %.2f\n", index, name, dets[i].score, dets[i].x1,
             dets[i].y1, dets[i].x2, dets[i].y2);
    }
    total += (long)n;
    ++index;
  }
  fprintf(stderr, "%ld frames, %ld detections\n", index, total);
  vas_video_reader_destroy(reader);
  vas_detector_destroy(det);
  return rc;
}
