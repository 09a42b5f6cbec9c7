/*
 * vasdk.h - the stable C ABI of the vasdk video-analytics SDK (libvasdk.so).
 *
 * Conventions
 *  - Every fallible call returns vas_status_t: VAS_OK (0), VAS_END_OF_STREAM (1), or a negative
 *    error. On error, vas_last_error_message() gives the detail for the calling thread, and the
 *    call's out-parameters are left untouched.
 *  - Objects come in create/destroy pairs; destroy accepts NULL.
 *  - Structs the caller fills start with struct_size; initialise them with the matching
 *    *_init() function. Structs only grow at the end; the library reads min(struct_size, its
 *    own size), so old callers keep working.
 *  - No C++ type or exception crosses this header.
 *
 * The block between VAS_CDEF_BEGIN and VAS_CDEF_END holds plain declarations only (no
 * preprocessor logic) so FFI generators such as cffi can read it directly.
 */
#ifndef VASDK_H_
#define VASDK_H_

#include <stddef.h>
#include <stdint.h>

#include "vasdk_version.h"

#if defined(_WIN32)
#define VAS_API __declspec(dllimport)
#elif defined(__GNUC__)
#define VAS_API __attribute__((visibility("default")))
#else
#define VAS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* VAS_CDEF_BEGIN */

/* ---- Status ----------------------------------------------------------------------------- */

/* Status codes. Values are pinned forever; new codes get new values. */
typedef int32_t vas_status_t;
enum vas_status_code {
  VAS_OK = 0,
  VAS_END_OF_STREAM = 1,            /* not an error: a source has no more frames */
  VAS_ERR_INVALID_ARGUMENT = -1,    /* NULL pointer, bad size/stride/format, bad struct_size */
  VAS_ERR_NOT_FOUND = -2,           /* a file or resource does not exist */
  VAS_ERR_IO = -3,                  /* reading or decoding failed, corrupt input */
  VAS_ERR_UNSUPPORTED = -4,         /* valid request that this build cannot serve */
  VAS_ERR_INVALID_MODEL = -5,       /* model or model card is corrupt or inconsistent */
  VAS_ERR_BACKEND_UNAVAILABLE = -6, /* inference runtime missing or too old */
  VAS_ERR_RUNTIME = -7,             /* the inference backend failed while running */
  VAS_ERR_OUT_OF_MEMORY = -8,
  VAS_ERR_INVALID_CONFIG = -9, /* bad JSON options or config; the message names the field */
  VAS_ERR_TIMEOUT = -10,
  VAS_ERR_POOL_EXHAUSTED = -11,
  VAS_ERR_INTERNAL = -12
};

/* Name of a status code, e.g. "VAS_ERR_NOT_FOUND". Never NULL; static storage.
   Thread safety: any thread. */
VAS_API const char* vas_status_str(vas_status_t status);

/* Detail of the last failed call on this thread ("" if none), at most about 1 KiB of UTF-8:
   longer details are cut and say so. Valid until the next failing vasdk call on the same
   thread. Successful calls leave it unchanged.
   Thread safety: any thread (thread-local). */
VAS_API const char* vas_last_error_message(void);

/* ---- Version ---------------------------------------------------------------------------- */

/* Runtime version string, e.g. "0.1.0". Static storage. Thread safety: any thread. */
VAS_API const char* vas_version(void);
/* Runtime version as MAJOR*10000 + MINOR*100 + PATCH; compare with VAS_VERSION_NUMBER.
   Thread safety: any thread. */
VAS_API uint32_t vas_version_number(void);

/* ---- Images ----------------------------------------------------------------------------- */

typedef enum vas_pixel_format {
  VAS_PIXEL_FORMAT_BGR24 = 1, /* packed B, G, R; planes[0] */
  VAS_PIXEL_FORMAT_RGB24 = 2, /* packed R, G, B; planes[0] */
  VAS_PIXEL_FORMAT_GRAY8 = 3, /* planes[0] */
  VAS_PIXEL_FORMAT_NV12 = 4,  /* Y in planes[0], interleaved UV in planes[1]; even sizes */
  VAS_PIXEL_FORMAT_NV21 = 5,  /* Y in planes[0], interleaved VU in planes[1]; even sizes */
  VAS_PIXEL_FORMAT_I420 = 6   /* Y, U, V in planes[0..2]; even sizes */
} vas_pixel_format_t;

/* Image size limits. Every call that takes a vas_image_t rejects, with
   VAS_ERR_INVALID_ARGUMENT, a width or height outside 1..VAS_IMAGE_MAX_DIMENSION and a plane
   whose stride * rows exceeds VAS_IMAGE_MAX_PLANE_BYTES, so no size arithmetic can wrap. */
#define VAS_IMAGE_MAX_DIMENSION 32768
#define VAS_IMAGE_MAX_PLANE_BYTES 2147483647

/* Limits on every JSON text vasdk parses (options_json, config_json, model cards, channel and
   rules JSON): at most VAS_CONFIG_MAX_BYTES bytes, and arrays and objects nested at most
   VAS_CONFIG_MAX_DEPTH deep. Both are checked before parsing; beyond them the call fails with
   VAS_ERR_INVALID_CONFIG and a message naming the limit and the line and column where it was
   hit. Strings are also refused, naming the field, when they hold an escaped NUL (\u0000)
   and when an object repeats a key. Error messages quote at most a short excerpt of a value. */
#define VAS_CONFIG_MAX_BYTES 1048576
#define VAS_CONFIG_MAX_DEPTH 64

/* A borrowed view of an image; vasdk never frees the planes. strides are bytes per row, at
   least the row's bytes (width * 3 for BGR24/RGB24, width for the other planes but I420's U
   and V, width / 2). */
typedef struct vas_image {
  uint32_t struct_size; /* sizeof(vas_image_t), set by vas_image_init() */
  int32_t format;       /* vas_pixel_format_t */
  int32_t width;
  int32_t height;
  const uint8_t* planes[3];
  int32_t strides[3];
} vas_image_t;

/* Zeroes *image and sets struct_size. Thread safety: any thread. */
VAS_API void vas_image_init(vas_image_t* image);

/* ---- Detector --------------------------------------------------------------------------- */

/* One detection, in source-image pixels. Output only; this layout is frozen. */
typedef struct vas_detection {
  float x1;
  float y1;
  float x2;
  float y2;
  float score;
  int32_t class_id;      /* index into the model card's classes */
  int32_t num_landmarks; /* 0, or 5 for face models */
  float landmarks[10];   /* x0, y0, x1, y1, ... */
} vas_detection_t;

typedef struct vas_detector vas_detector_t;

typedef struct vas_detector_config {
  uint32_t struct_size; /* set by vas_detector_config_init() */
  /* ONNX file, whose model card is the same path with .json; or a model pack (`vasdk model
     pack`: model and card in one file, optionally AES-256-GCM encrypted; see
     vas_set_model_key_callback) */
  const char* model_path;
  /* JSON object or NULL. Fields (all optional): "backend" ("ort" (default), "openvino" (needs
     the optional openvino pip package, else VAS_ERR_BACKEND_UNAVAILABLE), "auto", or "opencv"
     where built). "auto" times ONNX Runtime and OpenVINO (where it loads) on this model at its
     input size on first use, keeps the one with the lower median latency (ONNX Runtime unless
     the other is 5% faster) and caches the choice in $VASDK_CACHE_DIR (else
     $XDG_CACHE_HOME/vasdk, else ~/.cache/vasdk; mode 0700), keyed by model bytes, CPU, backend
     versions and the options below; the detector info's backend names the one chosen.
     "ort_library" (path),
     "threads", "spinning", "optimization" (none|basic|extended|all), "providers" (list in
     order of preference: "cpu", "cuda", "tensorrt", "openvino"; missing ones are skipped, and
     an error names them if none is usable), "warmup_runs", "memory_pattern" (ORT: plan
     activations per input shape; default true, false in a pipeline, where the plan's block
     sat beside the arena's chunks and each batch size kept its own), "arena" (ORT CPU arena:
     "shared", the default, one arena for the process's sessions that grows by what is requested;
     "session", ORT's own per-session arena growing in powers of two; "none", no arena: least
     memory, more CPU per run), "card" (path; not with a pack),
     "key_file" (an encrypted pack's key: 64 hex digits in a regular file of mode 0600 or
     stricter), "key_env" (the name of an environment variable holding the key),
     "input_width", "input_height", "score_threshold", "nms_iou", "classes" (list of names
     to keep), "class_agnostic_nms", "max_detections". OpenVINO only: "openvino_library"
     (path to libopenvino_c.so.*), "precision_hint" ("f32", "bf16", "f16"; default the
     plugin's), "performance_hint" ("latency", "throughput"), "streams", "infer_requests".
     Unknown fields are an error. */
  const char* options_json;
} vas_detector_config_t;

/* Zeroes *config and sets struct_size. Thread safety: any thread. */
VAS_API void vas_detector_config_init(vas_detector_config_t* config);

/* Loads the model, its card and the inference runtime. On success *out owns a detector that
   the caller frees with vas_detector_destroy(). The config and its strings are copied.
   Thread safety: any thread. */
VAS_API vas_status_t vas_detector_create(const vas_detector_config_t* config, vas_detector_t** out);

/* Supplies the key of an encrypted model pack: writes key_size (32) bytes to key and returns
   VAS_OK, or returns an error status to decline. pack_path is the pack's path and key_id the
   key fingerprint its header names (16 hex digits), both borrowed for the call. */
typedef vas_status_t (*vas_model_key_callback_t)(const char* pack_path, const char* key_id,
                                                 uint8_t* key, size_t key_size, void* user);

/* Registers fn(pack_path, key_id, key, key_size, user) as the process-wide source of model pack
   keys; NULL unsets it. A detector (or pipeline) opening an encrypted pack takes its key from,
   in order: its options' "key_file", its options' "key_env", this callback, then the
   environment variable VASDK_MODEL_KEY (64 hex digits). The pack is decrypted in memory only
   (locked where allowed, excluded from core dumps, wiped once the engine has read it); no cache
   vasdk writes holds the plain model or a compiled form of it. A wrong key, a changed or
   truncated pack fails with VAS_ERR_INVALID_MODEL naming the cause; no key at all with
   VAS_ERR_NOT_FOUND. Threat model: a pack keeps a model unreadable and tamper-evident at rest and
   in transit for anyone without the key; it does not protect against whoever can read the key
   or the running process's memory (root, a debugger). fn runs on the thread that creates the
   detector; a creation already under way when fn is replaced may still call the old one.
   Thread safety: any thread. */
VAS_API vas_status_t vas_set_model_key_callback(vas_model_key_callback_t fn, void* user);

/* Frees a detector; NULL is a no-op. Invalidates results it returned.
   Thread safety: per handle; not while another call on the same handle runs. */
VAS_API void vas_detector_destroy(vas_detector_t* detector);

/* Detects objects in image. On success *out_items points to *out_count detections, sorted by
   score, owned by the detector and valid until the next detect or destroy on this handle.
   Thread safety: per handle (one call at a time per detector). */
VAS_API vas_status_t vas_detector_detect(vas_detector_t* detector, const vas_image_t* image,
                                         const vas_detection_t** out_items, size_t* out_count);

typedef struct vas_detector_info {
  uint32_t struct_size; /* set by the caller to sizeof(vas_detector_info_t) */
  int32_t input_width;
  int32_t input_height;
  int32_t num_classes;
  const char* model_name; /* owned by the detector */
  const char* backend;    /* e.g. "ort 1.32.0"; owned by the detector */
} vas_detector_info_t;

/* Fills the first min(info->struct_size, sizeof) bytes of *info.
   Thread safety: per handle. */
VAS_API vas_status_t vas_detector_get_info(const vas_detector_t* detector,
                                           vas_detector_info_t* info);

/* Name of class class_id (owned by the detector). Thread safety: per handle. */
VAS_API vas_status_t vas_detector_get_class_name(const vas_detector_t* detector, int32_t class_id,
                                                 const char** out_name);

/* ---- Video reader (FFmpeg: files and network streams) ----------------------------------- */

typedef struct vas_video_reader vas_video_reader_t;

typedef struct vas_video_reader_config {
  uint32_t struct_size;    /* set by vas_video_reader_config_init() */
  const char* url;         /* file path or rtsp:// URL */
  int32_t output_format;   /* VAS_PIXEL_FORMAT_BGR24 (default), RGB24 or NV12 */
  int32_t open_timeout_ms; /* network sources; 0 = 5000 */
  int32_t read_timeout_ms; /* network sources; 0 = 5000 */
} vas_video_reader_config_t;

/* Zeroes *config, sets struct_size and output_format = BGR24. Thread safety: any thread. */
VAS_API void vas_video_reader_config_init(vas_video_reader_config_t* config);

/* Opens a video. On success the caller frees *out with vas_video_reader_destroy(). Errors:
   VAS_ERR_NOT_FOUND (no such file), VAS_ERR_IO (empty, corrupt or unrecognisable data),
   VAS_ERR_UNSUPPORTED (no video stream, no decoder, unknown protocol), VAS_ERR_TIMEOUT.
   Thread safety: any thread. */
VAS_API vas_status_t vas_video_reader_create(const vas_video_reader_config_t* config,
                                             vas_video_reader_t** out);

/* Frees a reader; NULL is a no-op. Thread safety: per handle. */
VAS_API void vas_video_reader_destroy(vas_video_reader_t* reader);

typedef struct vas_video_info {
  uint32_t struct_size; /* set by the caller to sizeof(vas_video_info_t) */
  int32_t width;
  int32_t height;
  double fps;
  int64_t frame_count; /* -1 when the container does not say */
} vas_video_info_t;

/* Fills the first min(info->struct_size, sizeof) bytes of *info. Thread safety: per handle. */
VAS_API vas_status_t vas_video_reader_get_info(const vas_video_reader_t* reader,
                                               vas_video_info_t* info);

/* Decodes the next frame into *frame (caller sets frame->struct_size). The planes are owned by
   the reader and valid until the next read or destroy. Returns VAS_END_OF_STREAM after the
   last frame. out_pts_us may be NULL. Thread safety: per handle. */
VAS_API vas_status_t vas_video_reader_read(vas_video_reader_t* reader, vas_image_t* frame,
                                           int64_t* out_pts_us);

/* What reading has found so far. A stream that ended with decoded < the info's frame_count,
   damaged or rejected_packets above 0, or truncated set, was incomplete or damaged. */
typedef struct vas_video_reader_stats {
  uint32_t struct_size;     /* set by the caller to sizeof(vas_video_reader_stats_t) */
  int32_t truncated;        /* 1: the input ended in a read error, not a clean end of file */
  int64_t decoded;          /* frames returned by vas_video_reader_read() */
  int64_t damaged;          /* frames the decoder flagged as damaged; dropped */
  int64_t rejected_packets; /* packets the decoder refused */
} vas_video_reader_stats_t;

/* Fills the first min(stats->struct_size, sizeof) bytes of *stats. Thread safety: per handle. */
VAS_API vas_status_t vas_video_reader_get_stats(const vas_video_reader_t* reader,
                                                vas_video_reader_stats_t* stats);

/* ---- Tracker ---------------------------------------------------------------------------- */

/* Multi-object tracking (SORT or ByteTrack over a constant-velocity Kalman filter). One
   tracker per video channel; track ids are per tracker, start at 1 and are never reused.
   Each update or predict call advances the tracker by one frame. */
typedef struct vas_tracker vas_tracker_t;

typedef enum vas_track_state {
  VAS_TRACK_TENTATIVE = 0, /* new; confirmed after min_hits consecutive matches */
  VAS_TRACK_CONFIRMED = 1,
  VAS_TRACK_LOST = 2,   /* missed on a detection frame; kept up to max_age frames */
  VAS_TRACK_REMOVED = 3 /* reported once, on the frame the track ends */
} vas_track_state_t;

/* One track on one frame, in source-image pixels. Output only; this layout is frozen. */
typedef struct vas_track {
  int64_t track_id;
  int64_t parent_track_id; /* -1 unless set by association */
  float x1;                /* the Kalman filter's box */
  float y1;
  float x2;
  float y2;
  float score; /* score of the detection matched on this frame, 0 when only predicted */
  int32_t class_id;
  int32_t state;             /* vas_track_state_t */
  int32_t hits;              /* frames with a matched detection */
  int32_t age;               /* frames since the track started */
  int32_t time_since_update; /* frames since the last matched detection */
  int32_t num_landmarks;     /* of the detection matched on this frame, else 0 */
  float landmarks[10];
  int32_t reserved; /* 0 */
} vas_track_t;

typedef struct vas_tracker_config {
  uint32_t struct_size; /* set by vas_tracker_config_init() */
  /* JSON object or NULL (ByteTrack with defaults). "type": "bytetrack" (default) or "sort".
     Both: "min_hits" (default 2 for bytetrack, 3 for sort), "max_age" (30 frames),
     "per_class" (false), "confirm_first_frame" (false: confirm tracks born on the first
     frame at once). sort: "min_score" (0), "iou_threshold" (0.3). bytetrack:
     "track_thresh" (0.2), "low_thresh" (0.1), "high_thresh" (0.25), "match_thresh" (0.8),
     "second_match_thresh" (0.5), "unconfirmed_match_thresh" (0.7), "fuse_score" (true).
     Optional costs beyond IoU (both types; with both weights 0, the default, the cost is
     1 - IoU): "center_weight" (0..1, default 0) mixes in the centre distance as
     g = (1 - w) * (1 - IoU) + w * rho^2 / c^2, rho the distance between the box centres and
     c the diagonal of the smallest box enclosing both (DIoU's term: scale-free, and still
     informative when the boxes do not overlap); "appearance_weight" (0..1, default 0) mixes
     in embeddings (vas_tracker_update_embeddings()) as (1 - w) * g + w * min(1, cos_dist),
     cos_dist = 1 - cosine similarity of the track's moving-average embedding and the
     detection's. With either weight > 0 a pair never matches when rho exceeds "center_gate"
     (0.01..100, default 0.5) times the track box's diagonal, or when cos_dist exceeds
     "appearance_gate" (0..2, default 0.4). "appearance_momentum" (0..1, default 0.9): weight
     of the old average when a matched detection updates it. "embedding_dim" (0..4096,
     default 0: fixed by the first call with embeddings). bytetrack uses and updates
     embeddings for detections >= track_thresh only. Mixing also lowers the cost of
     overlapping pairs, so lower the match thresholds when raising a weight.
     Unknown fields, and fields of the other type, are errors that name the field. */
  const char* config_json;
} vas_tracker_config_t;

/* Zeroes *config and sets struct_size. Thread safety: any thread. */
VAS_API void vas_tracker_config_init(vas_tracker_config_t* config);

/* Creates a tracker. On success the caller frees *out with vas_tracker_destroy(). The config
   is copied. Thread safety: any thread. */
VAS_API vas_status_t vas_tracker_create(const vas_tracker_config_t* config, vas_tracker_t** out);

/* Frees a tracker; NULL is a no-op. Invalidates tracks it returned.
   Thread safety: per handle; not while another call on the same handle runs. */
VAS_API void vas_tracker_destroy(vas_tracker_t* tracker);

/* A frame on which detection ran: matches the n detections (dets may be NULL when n is 0)
   and returns every live track plus those removed on this frame. *out_tracks points to
   *out_count tracks ordered by track id, owned by the tracker and valid until its next call
   or destroy. timestamp_us must not go backwards. A bad box or score is
   VAS_ERR_INVALID_ARGUMENT and leaves the tracker unchanged.
   Thread safety: per handle. */
VAS_API vas_status_t vas_tracker_update(vas_tracker_t* tracker, const vas_detection_t* dets,
                                        size_t n, int64_t timestamp_us,
                                        const vas_track_t** out_tracks, size_t* out_count);

/* A frame on which detection was skipped: tracks are predicted one frame ahead and keep
   their state. Outputs as for vas_tracker_update(). Thread safety: per handle. */
VAS_API vas_status_t vas_tracker_predict(vas_tracker_t* tracker, int64_t timestamp_us,
                                         const vas_track_t** out_tracks, size_t* out_count);

/* vas_tracker_update() with one appearance embedding per detection: embeddings holds n rows
   of dim floats (row i for dets[i], any scale: rows are L2-normalised; borrowed for the call).
   Needs "appearance_weight" > 0 in the config. dim 0 means no embeddings on this frame
   (embeddings may then be NULL). Every call's dim must equal "embedding_dim", or the first
   dim given when that is 0. VAS_ERR_INVALID_ARGUMENT, with the tracker unchanged, for:
   embeddings NULL with n > 0 and dim > 0, a dim mismatch, a non-finite value or an all-zero
   row, embeddings on a tracker without appearance_weight, and the errors of
   vas_tracker_update(). Outputs as for vas_tracker_update(). Thread safety: per handle. */
VAS_API vas_status_t vas_tracker_update_embeddings(
    vas_tracker_t* tracker, const vas_detection_t* dets, size_t n, const float* embeddings,
    size_t dim, int64_t timestamp_us, const vas_track_t** out_tracks, size_t* out_count);

/* ---- Analytics: best-shot selection, association, business rules ----------------------- */

/* These consume the tracks of one channel frame by frame (from vas_tracker_update() or the
   caller's own tracker) and keep no threads of their own. Use one instance per channel. */

/* Best-frame selection: scores every observed track box (detector score, size, sharpness as
   the variance of the Laplacian, truncation at the frame edges, aspect ratio, and face
   frontalness from 5 landmarks), keeps the top-K crops per track as copies, and emits them
   when a track ends, at an optional interval, and at flush (end of stream). */
typedef struct vas_best_shot_selector vas_best_shot_selector_t;

typedef struct vas_best_shot_config {
  uint32_t struct_size; /* set by vas_best_shot_config_init() */
  /* JSON object or NULL (defaults). Fields (all optional): "top_k" (1), "interval_s" (0 =
     off), "margin" (0.15), "jpeg" (false: encode every emitted crop), "jpeg_quality" (90),
     "max_missing" (30 updates before an absent track counts as ended), "min_quality" (0),
     "classes" (list of class ids; all), "size_ref" (112), "sharpness_ref" (100),
     "edge_margin" (2), "aspect" (expected width/height; 0 = off), "weights" {"detector",
     "size", "sharpness", "truncation", "aspect", "frontal"}, "max_transient" (1.0; 0 = off:
     an observation that stands apart from the track's observations before and after it, or
     has flat patches, repeated rows or specks in colours they lack near the same place, is
     taken for localised damage and not kept, unless the track ends with no other crop, then
     the least changed of them is its best shot; crops are kept one observation late),
     "signature_cell" (24 pixels per cell of that comparison). Crops with detected damage are
     never emitted, even as a track's only crop. Unknown fields are an error. */
  const char* config_json;
} vas_best_shot_config_t;

/* Zeroes *config and sets struct_size. Thread safety: any thread. */
VAS_API void vas_best_shot_config_init(vas_best_shot_config_t* config);

/* Creates a selector. On success the caller frees *out with vas_best_shot_selector_destroy().
   The config is copied. Thread safety: any thread. */
VAS_API vas_status_t vas_best_shot_selector_create(const vas_best_shot_config_t* config,
                                                   vas_best_shot_selector_t** out);

/* Frees a selector; NULL is a no-op. Invalidates shots and JPEG bytes it returned.
   Thread safety: per handle; not while another call on the same handle runs. */
VAS_API void vas_best_shot_selector_destroy(vas_best_shot_selector_t* selector);

typedef enum vas_best_shot_reason {
  VAS_BEST_SHOT_TRACK_ENDED = 0, /* the track was removed or stayed absent too long */
  VAS_BEST_SHOT_INTERVAL = 1,    /* periodic record of a live track whose shots improved */
  VAS_BEST_SHOT_FLUSH = 2        /* end of stream */
} vas_best_shot_reason_t;

/* One kept crop of one track. Output only; this layout is frozen. */
typedef struct vas_best_shot {
  int64_t track_id;
  int64_t shot_id;       /* unique within the selector; vas_event_t.best_shot_id refers to it */
  int64_t timestamp_us;  /* of the frame the crop comes from */
  int64_t frame_index;   /* number of updates before that frame */
  int64_t first_seen_us; /* the track's first and last frames so far */
  int64_t last_seen_us;
  int32_t class_id;
  int32_t reason; /* vas_best_shot_reason_t */
  int32_t rank;   /* 0 for the track's best crop in this record, then 1, 2, ... */
  float quality;  /* weighted mean of the terms, 0..1 */
  float terms[6]; /* detector, size, sharpness, truncation, aspect, frontal; each 0..1 */
  float x1;       /* the track's box in the frame */
  float y1;
  float x2;
  float y2;
  int32_t crop_x; /* top-left of the crop (box plus margin, clipped) in the frame */
  int32_t crop_y;
  vas_image_t crop;    /* BGR24 pixels owned by the selector */
  const uint8_t* jpeg; /* owned by the selector; NULL unless "jpeg" is on */
  size_t jpeg_size;
} vas_best_shot_t;

/* Scores the tracks observed on this frame (time_since_update 0), keeps the best crops, and
   returns the shots of records due now: tracks that ended (state VAS_TRACK_REMOVED, or absent
   for max_missing updates) and interval records, best first per track, tracks in id order.
   frame is only read during the call. *out_shots (may be NULL when *out_count is 0) is owned
   by the selector and valid until its next call or destroy. tracks may be NULL when n is 0.
   Thread safety: per handle. */
VAS_API vas_status_t vas_best_shot_selector_update(
    vas_best_shot_selector_t* selector, const vas_image_t* frame, const vas_track_t* tracks,
    size_t n, int64_t timestamp_us, const vas_best_shot_t** out_shots, size_t* out_count);

/* End of stream: returns the shots of every live track (reason VAS_BEST_SHOT_FLUSH) and
   forgets all tracks. Outputs as for vas_best_shot_selector_update(). Thread safety: per
   handle. */
VAS_API vas_status_t vas_best_shot_selector_flush(vas_best_shot_selector_t* selector,
                                                  int64_t timestamp_us,
                                                  const vas_best_shot_t** out_shots,
                                                  size_t* out_count);

/* JPEG on request: encodes a shot returned by the last update or flush of this selector.
   *out_jpeg is owned by the selector and valid until its next call or destroy.
   Thread safety: per handle. */
VAS_API vas_status_t vas_best_shot_selector_encode_jpeg(vas_best_shot_selector_t* selector,
                                                        const vas_best_shot_t* shot,
                                                        const uint8_t** out_jpeg, size_t* out_size);

/* Association of child tracks to parent tracks (a face to its person body): within a frame by
   containment in the parent's expected region plus a minimum-cost assignment, across frames
   by majority vote per child track. */
typedef struct vas_associator vas_associator_t;

typedef struct vas_associator_config {
  uint32_t struct_size; /* set by vas_associator_config_init() */
  /* JSON object or NULL. Fields (all optional): "parent_class" (0), "child_class" (1),
     "region" ([top, bottom] fractions of the parent's height; [0, 0.5]), "min_containment"
     (0.6), "forget_after" (60 updates). Unknown fields are an error. */
  const char* config_json;
} vas_associator_config_t;

/* Zeroes *config and sets struct_size. Thread safety: any thread. */
VAS_API void vas_associator_config_init(vas_associator_config_t* config);

/* Creates an associator; the caller frees *out with vas_associator_destroy().
   Thread safety: any thread. */
VAS_API vas_status_t vas_associator_create(const vas_associator_config_t* config,
                                           vas_associator_t** out);

/* Frees an associator; NULL is a no-op. Thread safety: per handle. */
VAS_API void vas_associator_destroy(vas_associator_t* associator);

/* Sets parent_track_id of every child-class track in tracks[0..n) (the caller's array, e.g. a
   copy of the tracker's output) to its majority parent track id, or -1. Nothing else is
   written; on error nothing is. Thread safety: per handle. */
VAS_API vas_status_t vas_associator_update(vas_associator_t* associator, vas_track_t* tracks,
                                           size_t n);

/* Business rules of one channel: line crossing with direction and hysteresis, zone intrusion,
   loitering and crowding, configured in JSON. */
typedef struct vas_rules vas_rules_t;

typedef struct vas_rules_config {
  uint32_t struct_size; /* set by vas_rules_config_init() */
  /* JSON object: {"channel": "cam1", "forget_after_s": 2, "confirmed_only": true,
     "rules": [{"id", "type": "line_crossing" | "intrusion" | "loitering" | "crowding",
     "classes", "anchor" ("bottom_center" | "center" | "top_center"), "min_track_age",
     line_crossing: "line" [[x, y], [x, y]], "hysteresis" (5 px), "direction" (both|in|out);
     the others: "polygon" [[x, y], ...]; loitering: "dwell_s", "gap_s"; crowding:
     "max_count", "duration_s"}]}. Errors name the field, e.g.
     "rules[2].polygon: self-intersecting (edges 0 and 2 cross)". */
  const char* config_json;
} vas_rules_config_t;

/* Zeroes *config and sets struct_size. Thread safety: any thread. */
VAS_API void vas_rules_config_init(vas_rules_config_t* config);

/* Parses the rules; the caller frees *out with vas_rules_destroy(). The config is copied.
   Thread safety: any thread. */
VAS_API vas_status_t vas_rules_create(const vas_rules_config_t* config, vas_rules_t** out);

/* Frees a rules engine; NULL is a no-op. Invalidates events and strings it returned.
   Thread safety: per handle. */
VAS_API void vas_rules_destroy(vas_rules_t* rules);

typedef enum vas_event_kind {
  VAS_EVENT_CROSS_IN = 0,  /* crossed from the right of the line's a->b to its left */
  VAS_EVENT_CROSS_OUT = 1, /* crossed from the left to the right */
  VAS_EVENT_ENTER = 2,     /* intrusion */
  VAS_EVENT_EXIT = 3,
  VAS_EVENT_LOITERING = 4,      /* dwell reached dwell_s */
  VAS_EVENT_CROWDING_START = 5, /* occupancy above max_count for duration_s */
  VAS_EVENT_CROWDING_END = 6
} vas_event_kind_t;

/* One event. Output only; this layout is frozen. */
typedef struct vas_event {
  const char* channel; /* owned by the rules engine, valid until destroy */
  const char* rule_id; /* owned by the rules engine, valid until destroy */
  int32_t rule_index;  /* position in the config's "rules" */
  int32_t kind;        /* vas_event_kind_t */
  int64_t track_id;    /* -1 for crowding */
  int32_t class_id;    /* -1 for crowding */
  int32_t count;       /* occupancy for crowding, else 0 */
  int64_t timestamp_us;
  int64_t start_us;     /* enter time for exit and loitering, rise time for crowding */
  int64_t best_shot_id; /* the track's current best shot (vas_best_shot_t.shot_id) or -1 */
} vas_event_t;

/* Feeds one frame's tracks (tracks may be NULL when n is 0); timestamps must not go
   backwards. shots may be NULL; when given, events carry the best shot that selector holds
   for their track. *out_events (may be NULL when *out_count is 0) is owned by the rules
   engine and valid until its next call or destroy. Thread safety: per handle (and shots must
   not be in use by another thread). */
VAS_API vas_status_t vas_rules_update(vas_rules_t* rules, const vas_track_t* tracks, size_t n,
                                      int64_t timestamp_us, const vas_best_shot_selector_t* shots,
                                      const vas_event_t** out_events, size_t* out_count);

/* End of stream: tracks still in intrusion zones exit and open crowding ends. Outputs as for
   vas_rules_update(). Thread safety: per handle. */
VAS_API vas_status_t vas_rules_flush(vas_rules_t* rules, int64_t timestamp_us,
                                     const vas_event_t** out_events, size_t* out_count);

/* In and out counts of a line_crossing rule so far. Thread safety: per handle. */
VAS_API vas_status_t vas_rules_get_line_counts(const vas_rules_t* rules, const char* rule_id,
                                               int64_t* out_in, int64_t* out_out);

/* ---- Preprocessing --------------------------------------------------------------------- */

/* Turns an image of any vas_pixel_format_t into a network input tensor in one fused pass:
   optional ROI crop, colour conversion, resize (stretch or letterbox), normalisation
   value = (pixel * scale - mean[c]) / std[c], and conversion to the output type and layout.
   Steady-state calls allocate nothing; the output may be a vas_pool_acquire() buffer. */
typedef struct vas_preprocessor vas_preprocessor_t;

typedef enum vas_resize_mode {
  VAS_RESIZE_STRETCH = 0,  /* fill width x height, aspect not kept */
  VAS_RESIZE_LETTERBOX = 1 /* keep aspect, centre, pad with pad_value */
} vas_resize_mode_t;

typedef enum vas_interp {
  VAS_INTERP_BILINEAR = 0,
  VAS_INTERP_NEAREST = 1,
  VAS_INTERP_AREA = 2 /* box filter for down-scaling; bilinear on up-scaled axes */
} vas_interp_t;

typedef enum vas_channel_order { VAS_CHANNELS_RGB = 0, VAS_CHANNELS_BGR = 1 } vas_channel_order_t;

typedef enum vas_tensor_layout { VAS_LAYOUT_NCHW = 1, VAS_LAYOUT_NHWC = 2 } vas_tensor_layout_t;

typedef enum vas_data_type {
  VAS_DTYPE_FLOAT32 = 1,
  VAS_DTYPE_FLOAT16 = 2,
  VAS_DTYPE_UINT8 = 3, /* q = saturate(round(value / quant_scale) + zero_point) */
  VAS_DTYPE_INT8 = 4
} vas_data_type_t;

typedef struct vas_preprocess_spec {
  uint32_t struct_size; /* set by vas_preprocess_spec_init() */
  int32_t width;        /* output (network input) size, > 0 */
  int32_t height;
  int32_t resize_mode; /* vas_resize_mode_t; default STRETCH */
  int32_t interp;      /* vas_interp_t; default BILINEAR */
  int32_t channels;    /* vas_channel_order_t of the output; default RGB */
  int32_t layout;      /* vas_tensor_layout_t; default NCHW */
  int32_t dtype;       /* vas_data_type_t; default FLOAT32 */
  float scale;         /* default 1/255 */
  float mean[3];       /* in output channel order; default 0 */
  float std[3];        /* > 0; default 1 */
  int32_t pad_value;   /* letterbox border in pixel units, 0..255; default 114 */
  float quant_scale;   /* UINT8/INT8 only, > 0; default 1 */
  int32_t zero_point;  /* UINT8/INT8 only, within the type's range; default 0 */
  /* Source region to crop first (second-stage models); roi_width or roi_height 0 means the
     whole image. Even values for NV12, NV21 and I420. */
  int32_t roi_x, roi_y, roi_width, roi_height;
} vas_preprocess_spec_t;

/* Maps output-tensor coordinates back to the source image (ROI origin included):
   x_src = (x - offset_x) / scale_x, y_src = (y - offset_y) / scale_y. Output only; frozen. */
typedef struct vas_box_transform {
  float scale_x, scale_y;
  float offset_x, offset_y;
} vas_box_transform_t;

typedef enum vas_preprocess_kernel {
  VAS_KERNEL_AUTO = 0,      /* the fastest this CPU supports */
  VAS_KERNEL_REFERENCE = 1, /* scalar, per-pixel: the oracle for tests, slow */
  VAS_KERNEL_PORTABLE = 2,  /* plain C++ the compiler vectorises; any CPU */
  VAS_KERNEL_AVX2 = 3,      /* x86-64 with AVX2 and FMA; VAS_ERR_UNSUPPORTED elsewhere */
  VAS_KERNEL_AVX512 = 4     /* AVX2 plus AVX-512 F/BW/VL/VBMI; VAS_ERR_UNSUPPORTED elsewhere */
} vas_preprocess_kernel_t;

typedef struct vas_preprocessor_config {
  uint32_t struct_size; /* set by vas_preprocessor_config_init() */
  int32_t threads;      /* 1 (default) .. 64; > 1 splits large images into row bands */
  int32_t kernel;       /* vas_preprocess_kernel_t; default AUTO */
} vas_preprocessor_config_t;

/* Zero-fill plus the defaults documented above. Thread safety: any thread. */
VAS_API void vas_preprocess_spec_init(vas_preprocess_spec_t* spec);
VAS_API void vas_preprocessor_config_init(vas_preprocessor_config_t* config);

/* Bytes of one output tensor for *spec (3 * width * height elements of dtype), or 0 when the
   spec is invalid (vas_last_error_message() then names the field). Thread safety: any. */
VAS_API size_t vas_preprocess_output_bytes(const vas_preprocess_spec_t* spec);

/* Creates a preprocessor; config NULL means the defaults. Free with
   vas_preprocessor_destroy(). Thread safety: any thread. */
VAS_API vas_status_t vas_preprocessor_create(const vas_preprocessor_config_t* config,
                                             vas_preprocessor_t** out);
/* NULL is a no-op. Thread safety: per handle. */
VAS_API void vas_preprocessor_destroy(vas_preprocessor_t* preprocessor);

/* Preprocesses one image into out (out_bytes >= vas_preprocess_output_bytes(spec), aligned
   to the element size). out_transform may be NULL. Errors name the cause: bad image (NULL
   plane, size, stride, odd YUV size), bad spec field, ROI outside the image, output too
   small or misaligned. Thread safety: per handle (one thread at a time). */
VAS_API vas_status_t vas_preprocess(vas_preprocessor_t* preprocessor, const vas_image_t* image,
                                    const vas_preprocess_spec_t* spec, void* out, size_t out_bytes,
                                    vas_box_transform_t* out_transform);

/* Packs count images (sizes and formats may differ) into one batch tensor: image i goes to
   out + i * vas_preprocess_output_bytes(spec). out_transforms (NULL or count entries)
   receives each image's mapping. On error the message names the image index.
   Thread safety: per handle. */
VAS_API vas_status_t vas_preprocess_batch(vas_preprocessor_t* preprocessor,
                                          const vas_image_t* const* images, size_t count,
                                          const vas_preprocess_spec_t* spec, void* out,
                                          size_t out_bytes, vas_box_transform_t* out_transforms);

/* ---- Memory pools ----------------------------------------------------------------------- */

/* A bounded memory pool: a fixed-size block pool (min_block == max_block) or a size-class
   arena (classes double from min_block up to max_block). The pool never holds more than
   capacity_bytes of block memory; an acquisition that would cross the bound fails with
   VAS_ERR_POOL_EXHAUSTED, which the caller can act on (drop a frame, wait, degrade). */
typedef struct vas_pool vas_pool_t;

/* Limits vas_pool_create() checks: max_block at most VAS_POOL_MAX_BLOCK (2^48) and alignment
   at most VAS_POOL_MAX_ALIGNMENT (2 MiB). Plain literals, so that cffi can read them. */
#define VAS_POOL_MAX_BLOCK 0x1000000000000ull
#define VAS_POOL_MAX_ALIGNMENT 0x200000u

typedef struct vas_pool_config {
  uint32_t struct_size;  /* set by vas_pool_config_init() */
  const char* name;      /* used in messages; NULL means "pool"; copied */
  size_t min_block;      /* bytes of the smallest size class; > 0 */
  size_t max_block;      /* bytes of the largest size class; min_block..VAS_POOL_MAX_BLOCK */
  size_t capacity_bytes; /* hard bound on block bytes held (cached + in use); >= max_block */
  int32_t thread_safe;   /* nonzero: locked, any thread; 0: unlocked, one thread at a time */
  size_t alignment;      /* power of two in sizeof(void*)..VAS_POOL_MAX_ALIGNMENT; 0 means 64 */
  /* Optional allocator hooks; both NULL means the built-in allocator. alloc must return
     memory aligned to `alignment` or NULL; free gets the pointer and size alloc saw. They are
     called from the threads that use the pool and must stay valid until every buffer of the
     pool has been released (which may be after vas_pool_destroy). */
  void* (*alloc)(size_t size, size_t alignment, void* user);
  void (*free)(void* ptr, size_t size, void* user);
  void* user; /* passed to alloc and free unchanged */
} vas_pool_config_t;

typedef struct vas_pool_stats {
  uint32_t struct_size;      /* set by vas_pool_stats_init() */
  uint64_t capacity_bytes;   /* the hard bound */
  uint64_t reserved_bytes;   /* block bytes held from the allocator now */
  uint64_t in_use_bytes;     /* block bytes of buffers currently out */
  uint64_t in_use_buffers;   /* buffers currently out */
  uint64_t high_water_bytes; /* maximum of in_use_bytes so far */
  uint64_t hits;             /* acquisitions served from a cached block */
  uint64_t misses;           /* acquisitions that called the allocator */
  uint64_t failed;           /* acquisitions refused (exhausted or allocator failure) */
} vas_pool_stats_t;

/* Zeroes *config, sets struct_size, alignment 64 and thread_safe 1. Thread safety: any. */
VAS_API void vas_pool_config_init(vas_pool_config_t* config);
/* Zeroes *stats and sets struct_size. Thread safety: any thread. */
VAS_API void vas_pool_stats_init(vas_pool_stats_t* stats);

/* Creates an empty pool; the config is copied. *out is freed with vas_pool_destroy().
   VAS_ERR_INVALID_ARGUMENT, with a message naming the field, for a config outside the limits
   above. Thread safety: any thread. */
VAS_API vas_status_t vas_pool_create(const vas_pool_config_t* config, vas_pool_t** out);

/* Destroys a pool; NULL is a no-op. Buffers still out stay valid: this is reported on stderr
   and their memory goes back to the allocator when they are released. Check
   vas_pool_get_stats() first to handle it yourself. Thread safety: per handle. */
VAS_API void vas_pool_destroy(vas_pool_t* pool);

/* Acquires a buffer of at least size bytes, aligned to the pool's alignment. *out_data
   carries one reference, released with vas_buffer_release(). Errors: size 0
   (VAS_ERR_INVALID_ARGUMENT), over max_block or the capacity (VAS_ERR_POOL_EXHAUSTED),
   allocator failure (VAS_ERR_OUT_OF_MEMORY). Thread safety: any thread for a locked pool,
   else one thread at a time. */
VAS_API vas_status_t vas_pool_acquire(vas_pool_t* pool, size_t size, void** out_data);

/* Adds a reference to a buffer from vas_pool_acquire() (so two owners can release it
   independently). VAS_ERR_INVALID_ARGUMENT for NULL or a pointer that is not a pool buffer
   still out; such a pointer is looked up, never read. Thread safety: any thread. */
VAS_API vas_status_t vas_buffer_retain(void* data);

/* Drops one reference; the last one returns the block to its pool. NULL, and a pointer that
   is not a pool buffer still out, is a no-op.
   Thread safety: as vas_pool_acquire for the buffer's pool. */
VAS_API void vas_buffer_release(void* data);

/* Copies the pool's statistics into *out (up to out->struct_size).
   Thread safety: as vas_pool_acquire. */
VAS_API vas_status_t vas_pool_get_stats(const vas_pool_t* pool, vas_pool_stats_t* out);

/* ---- Logging ---------------------------------------------------------------------------- */

typedef enum vas_log_level {
  VAS_LOG_DEBUG = 0,
  VAS_LOG_INFO = 1,
  VAS_LOG_WARN = 2, /* the default minimum */
  VAS_LOG_ERROR = 3,
  VAS_LOG_OFF = 4
} vas_log_level_t;

/* Receives one log message (borrowed for the call; no trailing newline). */
typedef void (*vas_log_callback_t)(int32_t level, const char* message, void* user);

/* Routes vasdk's log messages at min_level (vas_log_level_t) and above to fn(level, message,
   user); fn NULL restores the default (stderr, "vasdk: <level>: <message>"). Process-wide.
   fn runs on whichever vasdk or caller thread logs, one message at a time (calls are
   serialised), and never again once this call returns. fn must not call
   vas_set_log_callback (that call fails with VAS_ERR_INVALID_ARGUMENT); other vasdk calls
   are allowed but their log messages are dropped. Errors: min_level outside 0..4.
   Thread safety: any thread. */
VAS_API vas_status_t vas_set_log_callback(vas_log_callback_t fn, void* user, int32_t min_level);

/* ---- Pipeline --------------------------------------------------------------------------- */

/* A multi-channel video-analytics pipeline: sources (files, rtsp:// cameras, pushed frames)
   -> batched detection shared by all channels -> per-channel tracking, best shots,
   association and rules -> result and event callbacks. It owns all of its threads. */
typedef struct vas_pipeline vas_pipeline_t;

typedef struct vas_pipeline_config {
  uint32_t struct_size; /* set by vas_pipeline_config_init() */
  /* JSON object, required: {"models": {"detector": {"model": PATH, "options": {...}}},
     "inference": {"max_batch" (frames per detector run; by default 1 where the engine
     runs several requests at once, OpenVINO's streams, else 2), "max_wait_ms", "threads",
     "spinning", "in_flight" (batches in inference at once, each on its own batcher thread
     over the one engine; 0 (default) = what the engine runs in parallel: OpenVINO's infer
     requests, 1 for ORT)},
     "analytics_threads",
     "channels": [{"id", "source": {"url", "loop", "realtime", "transport", "open_timeout_ms",
     "read_timeout_ms", "reconnect_initial_ms", "reconnect_max_ms"}, "push", "queue",
     "policy" (drop_oldest|drop_newest|block), "detect_interval", "pool_frames",
     "max_gap_s" (5; a reconnect, or media time jumping further, ends the channel's tracks
     with track_end "source_gap"; 0 = reconnects only),
     "analytics": {"tracker", "best_shot", "associator", "rules"}}]}. Every field but the
     model has a default; unknown fields and bad values are VAS_ERR_INVALID_CONFIG with a
     message naming the field, e.g. "channels[1].policy". RTSP reconnects: at once, then after
     reconnect_initial_ms (500) doubling up to reconnect_max_ms (2000), +-20% jitter; a refused
     attempt within 60 s of losing a healthy stream waits reconnect_initial_ms. */
  const char* config_json;
} vas_pipeline_config_t;

/* One tracked object on one frame, in source-image pixels. Output only; this layout is frozen
   (struct_size is always sizeof(vas_object_t); later data comes as new arrays in
   vas_frame_result_t, so arrays of it keep their stride). */
typedef struct vas_object {
  uint32_t struct_size;
  int32_t class_id;
  int64_t track_id;
  int64_t parent_track_id; /* -1 unless set by the associator */
  float x1;
  float y1;
  float x2;
  float y2;
  float score;
  int32_t num_landmarks; /* 0, or 5 for face models */
  float landmarks[10];   /* x0, y0, x1, y1, ... */
} vas_object_t;

/* The outcome of one frame of one channel. Borrowed: valid only during the callback. Read
   fields past the ones your header knows only if struct_size covers them. */
typedef struct vas_frame_result {
  uint32_t struct_size;        /* sizeof(vas_frame_result_t) of the library */
  int32_t detected;            /* 1 when detection ran; 0 on frames skipped by detect_interval */
  const char* channel;         /* channel id */
  int64_t frame;               /* 0-based frame number within the channel */
  int64_t pts_us;              /* the source's presentation time */
  int64_t capture_us;          /* wall clock (us since the Unix epoch) when decoded or pushed */
  int64_t ts_us;               /* analytics time; per channel never goes backwards */
  const vas_object_t* objects; /* num_objects tracks (NULL when 0) */
  size_t num_objects;
} vas_frame_result_t;

/* A pipeline event. Borrowed: valid only during the callback (copy what you keep). */
typedef struct vas_pipeline_event {
  uint32_t struct_size; /* sizeof(vas_pipeline_event_t) of the library */
  int32_t class_id;     /* -1 when not about one object */
  const char* channel;
  const char* kind;     /* "rule", "best_shot", "track_start", "track_end", "source",
                           "cluster" (this node took or gave up the channel), "sink" (channel
                           "": a sink lost or regained its broker or file), "channel" */
  const char* subkind;  /* rule: cross_in, cross_out, enter, exit, ...; source: connected,
                           disconnected, reconnected, end_of_stream, error; best_shot:
                           track_ended, interval, flush; cluster: assigned, revoked; sink:
                           disconnected, reconnected; track_end: why (removed, flush,
                           source_gap); channel: removed (the channel's last
                           event; message holds its final counters as the JSON object of
                           vas_pipeline_stats_json's "channels"); "" otherwise */
  const char* rule_id;  /* "" when not a rule event */
  const char* message;  /* human-readable detail, e.g. the cause of a disconnect; may be "" */
  int64_t track_id;     /* -1 when not about one object */
  int64_t ts_us;        /* media_us, except for "source" and "sink" events: wall_us of the
                           occurrence (kept as it was; read media_us and wall_us instead) */
  int64_t best_shot_id; /* -1 if none */
  float quality;        /* best_shot: the crop's quality score */
  int32_t reserved;     /* 0 */
  vas_image_t crop;     /* best_shot: the BGR24 crop; width and height 0 otherwise */
  const uint8_t* jpeg;  /* best_shot with JPEG enabled: the encoded crop; else NULL */
  size_t jpeg_size;
  /* Both clocks, on every event (check struct_size covers them). media_us: the channel's
     media time (analytics time of its frames, never going backwards) the event belongs to;
     for source events the last frame's before it, 0 before any. wall_us: wall clock, us since
     the Unix epoch, when the event left the pipeline. */
  int64_t media_us;
  int64_t wall_us;
} vas_pipeline_event_t;

/* Called on a pipeline worker thread for every frame of every channel: one call at a time
   per channel, in frame order (different channels may call concurrently from different
   threads). It may call vas_pipeline_push_frame, vas_pipeline_update_rules,
   vas_pipeline_add_channel, vas_pipeline_stats_json and vas_pipeline_remove_channel of
   another channel (which then finishes after the callback returns); vas_pipeline_stop,
   vas_pipeline_remove_channel of its own channel and vas_pipeline_destroy fail there with
   VAS_ERR_INVALID_ARGUMENT. Keep it short: a slow callback delays its channel. */
typedef void (*vas_result_callback_t)(const vas_frame_result_t* result, void* user);
/* Events: same thread and rules as the result callback of the event's channel, except "sink"
   events, which arrive on that sink's own thread (possibly while a worker runs a callback);
   those from before the first vas_pipeline_start are delivered by it, on its caller's thread. */
typedef void (*vas_event_callback_t)(const vas_pipeline_event_t* event, void* user);
/* Zero-copy pushes: called exactly once when the pipeline no longer reads the pixels, on a
   pipeline thread or, when the push fails or the frame is dropped at once, before
   vas_pipeline_push_frame returns. It must not call back into the pipeline. */
typedef void (*vas_frame_release_t)(void* user);

/* Zeroes *config and sets struct_size. Thread safety: any thread. */
VAS_API void vas_pipeline_config_init(vas_pipeline_config_t* config);

/* Parses the config, loads the models and builds the channels (sources open at start). On
   success the caller frees *out with vas_pipeline_destroy(). The config is copied. Errors:
   VAS_ERR_INVALID_CONFIG naming the field (bad JSON, unknown field, unknown source scheme),
   VAS_ERR_NOT_FOUND for a missing model. A camera that is down is not an error: it reports
   a "source" event and keeps retrying once started. Thread safety: any thread. */
VAS_API vas_status_t vas_pipeline_create(const vas_pipeline_config_t* config, vas_pipeline_t** out);

/* Stops (without draining), joins every thread and frees the pipeline; NULL is VAS_OK. From
   inside one of the pipeline's own callbacks it refuses with VAS_ERR_INVALID_ARGUMENT and
   frees nothing (stop from another thread first). Thread safety: any thread but the
   pipeline's callbacks; no other call on the handle may run or follow. */
VAS_API vas_status_t vas_pipeline_destroy(vas_pipeline_t* pipeline);

/* Sets the result / event callback (fn NULL removes it); user is passed back unchanged.
   Before vas_pipeline_start() only (VAS_ERR_INVALID_ARGUMENT afterwards).
   Thread safety: any thread, not concurrently with start. */
VAS_API vas_status_t vas_pipeline_set_result_callback(vas_pipeline_t* pipeline,
                                                      vas_result_callback_t fn, void* user);
VAS_API vas_status_t vas_pipeline_set_event_callback(vas_pipeline_t* pipeline,
                                                     vas_event_callback_t fn, void* user);

/* Opens the sources and starts the threads. Starting a running pipeline is
   VAS_ERR_INVALID_ARGUMENT; a stopped one may be started again (channels start from frame 0).
   Thread safety: any thread. */
VAS_API vas_status_t vas_pipeline_start(vas_pipeline_t* pipeline);

/* drain nonzero: stop the sources, finish every queued frame, flush the analytics (final
   best shots, track ends), then join. drain 0: drop queued frames and return within about
   1 s. Stopping a stopped pipeline is VAS_OK. Callbacks are not called after it returns,
   but for the "channel"/"removed" event of a later vas_pipeline_remove_channel (on its
   caller's thread).
   Thread safety: any thread but the pipeline's callbacks (VAS_ERR_INVALID_ARGUMENT there). */
VAS_API vas_status_t vas_pipeline_stop(vas_pipeline_t* pipeline, int32_t drain);

/* Adds a channel: channel_json is one element of the config's "channels". It starts at once
   when the pipeline runs. Errors: bad config naming the field, duplicate id.
   Thread safety: any thread, callbacks included. */
VAS_API vas_status_t vas_pipeline_add_channel(vas_pipeline_t* pipeline, const char* channel_json);

/* Stops a channel (queued frames are dropped as "removed") and forgets it. Its last event is
   "channel"/"removed", whose message holds its final counters (decoded == processed +
   dropped), delivered on the thread that finishes the removal: the caller's, before this
   returns; or, when called from another channel's callback, a pipeline thread after that
   callback returns (this call then only stops the channel's intake). VAS_ERR_NOT_FOUND for
   an unknown id. Thread safety: any thread, callbacks of other channels included; from the
   channel's own callbacks VAS_ERR_INVALID_ARGUMENT. */
VAS_API vas_status_t vas_pipeline_remove_channel(vas_pipeline_t* pipeline, const char* channel_id);

/* Replaces a channel's rules ({"rules": [...]} as in analytics.rules), applied before its
   next frame. Errors name the field. Thread safety: any thread, callbacks included. */
VAS_API vas_status_t vas_pipeline_update_rules(vas_pipeline_t* pipeline, const char* channel_id,
                                               const char* rules_json);

/* Queues one frame on a running "push": true channel. With release NULL the pixels are copied
   before the call returns. Otherwise they are borrowed (zero copy) and release(release_user)
   is called exactly once when the pipeline is done with them (also on error or drop). VAS_OK
   means the frame was queued. Errors: VAS_ERR_NOT_FOUND (unknown channel),
   VAS_ERR_INVALID_ARGUMENT (not a push channel, not running, bad image or a format/size other
   than the channel's), VAS_ERR_POOL_EXHAUSTED (no free frame buffer, or the queue was full
   under drop_newest: the frame was dropped and counted as such). Under drop_oldest a full
   queue drops an older frame instead and the push returns VAS_OK. pts_us must not go
   backwards. Thread safety: any thread, callbacks included. */
VAS_API vas_status_t vas_pipeline_push_frame(vas_pipeline_t* pipeline, const char* channel_id,
                                             const vas_image_t* image, int64_t pts_us,
                                             vas_frame_release_t release, void* release_user);

/* A statistics snapshot as a JSON object: {"channels": [{"id", "state", "decoded",
   "processed", "dropped", "dropped_by_reason": {...}, "reconnects", "events", "fps",
   "latency_p50_ms", "latency_p99_ms", "queue_depth", "pool_in_use_bytes",
   "pool_reserved_bytes" (frame pool bytes held now), "pool_capacity_bytes", "live_viewers",
   "live_frames"}],
   "decode"|"inference"|"analytics": {"fps", "latency_p50_ms", "latency_p99_ms", "queue_depth"},
   "batch_mean", "batches", "cpu_ms_per_frame": {"frames", "decode", "preprocess", "inference",
   "postprocess", "analytics", "delivery", "annotate", "other", "process"}, "inference_lanes",
   "inference_max_batch" (the max_batch in use), "inference_backend" (e.g. "ort 1.32.0"),
   "inference_notes" (the engine's notes; with "backend": "auto" the first says what was chosen
   and why)}. cpu_ms_per_frame is CPU time per delivered frame
   since start (frozen at stop): each stage counts the pipeline's own threads in it ("inference"
   only the calling thread's share), "other" the rest of the process (runtime worker threads, sinks,
   the application), so that they add up to "process". New keys may appear. *out_json belongs to the
   calling thread and stays valid until its next vas_pipeline_stats_json call. Thread safety: any
   thread, callbacks included. */
VAS_API vas_status_t vas_pipeline_stats_json(const vas_pipeline_t* pipeline, const char** out_json);

/* ---- Live view ----
   While a channel has a viewer, each analysed frame the encoder can take is drawn (tracks,
   trails, rule lines and zones, counts) and encoded to JPEG on a thread of the channel's own;
   frames it cannot take are skipped, never the channel's. With no viewer nothing is drawn or
   encoded. A web page and RTSP out are built on these calls (python -m vasdk run --http). */

/* One JPEG of a channel's live view. The caller sets struct_size (sizeof of its header's
   version); the library fills the fields that fit in it. */
typedef struct vas_live_frame {
  uint32_t struct_size;
  int32_t width; /* the picture's size in pixels */
  int32_t height;
  int32_t reserved;    /* 0 */
  uint64_t seq;        /* increases with every JPEG of the channel */
  int64_t frame;       /* the channel's 0-based frame index */
  int64_t capture_us;  /* wall clock (us since the Unix epoch) when the frame was decoded */
  const uint8_t* jpeg; /* valid until this thread's next vas_pipeline_live_frame call */
  size_t jpeg_size;
} vas_live_frame_t;

/* One more viewer (on nonzero) or one fewer (on 0) of a channel's live view. Errors:
   VAS_ERR_NOT_FOUND (unknown channel), VAS_ERR_INVALID_ARGUMENT (on 0 with no viewer).
   Thread safety: any thread, callbacks included. */
VAS_API vas_status_t vas_pipeline_live_watch(vas_pipeline_t* pipeline, const char* channel_id,
                                             int32_t on);

/* The newest JPEG of the channel with seq > after_seq, waiting up to timeout_ms (0..60000)
   for one; a viewer passes the last seq it got. Errors: VAS_ERR_TIMEOUT (none came; also when
   nobody watches the channel), VAS_ERR_NOT_FOUND (unknown channel, or removed while waiting),
   VAS_ERR_INVALID_ARGUMENT (NULL, a struct_size below 8, a timeout out of range). *frame is
   left untouched on error. Thread safety: any thread but the pipeline's callbacks, which must
   not wait; the bytes belong to the calling thread. */
VAS_API vas_status_t vas_pipeline_live_frame(vas_pipeline_t* pipeline, const char* channel_id,
                                             uint64_t after_seq, int32_t timeout_ms,
                                             vas_live_frame_t* frame);

/* VAS_CDEF_END */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* VASDK_H_ */
