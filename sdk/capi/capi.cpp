// The extern "C" layer: argument checks, struct_size handling and one exception guard per
// entry point. No logic lives here that the Python bindings would also need.
#include <vasdk/vasdk.h>

#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "capi_util.h"
#include "core/config_reader.h"
#include "core/status.h"
#include "io/video_reader.h"
#include "models/detector.h"
#include "models/model_pack.h"

// Frozen layouts: these offsets are ABI. Grow structs only at the end.
static_assert(offsetof(vas_image_t, format) == 4, "ABI");
static_assert(offsetof(vas_image_t, planes) == 16, "ABI");
static_assert(offsetof(vas_image_t, strides) == 40, "ABI");
static_assert(sizeof(vas_image_t) == 56, "ABI");
static_assert(VAS_IMAGE_MAX_DIMENSION == vas::kMaxImageDimension, "limits");
static_assert(VAS_IMAGE_MAX_PLANE_BYTES == vas::kMaxPlaneBytes, "limits");
static_assert(VAS_CONFIG_MAX_BYTES == vas::kConfigMaxBytes, "limits");
static_assert(VAS_CONFIG_MAX_DEPTH == vas::kConfigMaxDepth, "limits");
static_assert(sizeof(vas_detection_t) == 68, "ABI");
static_assert(offsetof(vas_detection_t, landmarks) == 28, "ABI");
static_assert(offsetof(vas_detector_config_t, options_json) == 16, "ABI");
static_assert(sizeof(vas_detector_info_t) == 32, "ABI");
static_assert(offsetof(vas_video_reader_config_t, read_timeout_ms) == 24, "ABI");
static_assert(sizeof(vas_video_info_t) == 32, "ABI");
static_assert(offsetof(vas_video_reader_stats_t, decoded) == 8, "ABI");
static_assert(sizeof(vas_video_reader_stats_t) == 32, "ABI");
static_assert(static_cast<int>(vas::StatusCode::kInternal) == VAS_ERR_INTERNAL, "codes");
static_assert(static_cast<int>(vas::PixelFormat::kI420) == VAS_PIXEL_FORMAT_I420, "formats");

struct vas_detector {
  std::unique_ptr<vas::Detector> impl;
  std::vector<vas::Detection> dets;
  std::vector<vas_detection_t> out;
  std::string backend;
};

struct vas_video_reader {
  std::unique_ptr<vas::VideoReader> impl;
};

namespace {

using namespace vas_capi;  // NOLINT(google-build-using-namespace)

}  // namespace

extern "C" {

const char* vas_status_str(vas_status_t status) {
  return vas::status_code_name(static_cast<vas::StatusCode>(status));
}

const char* vas_last_error_message(void) { return g_last_error.c_str(); }

const char* vas_version(void) {
#define VAS_STR2_(x) #x
#define VAS_STR_(x) VAS_STR2_(x)
  return VAS_STR_(VAS_VERSION_MAJOR) "." VAS_STR_(VAS_VERSION_MINOR) "." VAS_STR_(
      VAS_VERSION_PATCH);
}

uint32_t vas_version_number(void) { return VAS_VERSION_NUMBER; }

void vas_image_init(vas_image_t* image) {
  if (!image) return;
  std::memset(image, 0, sizeof(*image));
  image->struct_size = sizeof(*image);
}

void vas_detector_config_init(vas_detector_config_t* config) {
  if (!config) return;
  std::memset(config, 0, sizeof(*config));
  config->struct_size = sizeof(*config);
}

vas_status_t vas_detector_create(const vas_detector_config_t* config, vas_detector_t** out) {
  constexpr const char* fn = "vas_detector_create";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(config != nullptr, fn, "config is NULL");
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    vas_detector_config_t cfg;
    if (!read_versioned(config, sizeof(vas_detector_config_t), &cfg)) {
      return fail(VAS_ERR_INVALID_ARGUMENT, struct_size_message(fn, "vas_detector_config_t",
                                                                config->struct_size, sizeof(cfg)));
    }
    VAS_CHECK_ARG(cfg.model_path != nullptr && *cfg.model_path, fn,
                  "config.model_path is NULL or empty");
    auto options = vas::parse_detector_options(cfg.options_json ? cfg.options_json : "");
    if (!options.is_ok()) return fail(options.status());
    auto det = vas::Detector::create(cfg.model_path, options.value());
    if (!det.is_ok()) return fail(det.status());
    auto handle = std::make_unique<vas_detector>();
    handle->impl = std::move(det).value();
    handle->backend = handle->impl->engine().backend_name();
    *out = handle.release();
    return VAS_OK;
  });
}

void vas_detector_destroy(vas_detector_t* detector) { delete detector; }

vas_status_t vas_set_model_key_callback(vas_model_key_callback_t fn, void* user) {
  constexpr const char* fn_name = "vas_set_model_key_callback";
  return guarded(fn_name, [&]() -> vas_status_t {
    if (fn == nullptr) {
      vas::set_pack_key_callback(nullptr);
      return VAS_OK;
    }
    vas::set_pack_key_callback([fn, user](const std::string& pack, const std::string& key_id,
                                          vas::PackKey* key) -> vas::Status {
      const vas_status_t st = fn(pack.c_str(), key_id.c_str(), key->data(), key->size(), user);
      if (st == VAS_OK) return vas::Status::ok();
      return {static_cast<vas::StatusCode>(st), std::string("returned ") + vas_status_str(st)};
    });
    return VAS_OK;
  });
}

vas_status_t vas_detector_detect(vas_detector_t* detector, const vas_image_t* image,
                                 const vas_detection_t** out_items, size_t* out_count) {
  constexpr const char* fn = "vas_detector_detect";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(detector != nullptr, fn, "detector is NULL");
    VAS_CHECK_ARG(out_items != nullptr && out_count != nullptr, fn,
                  "out_items or out_count is NULL");
    vas::ImageView view;
    if (vas_status_t st = to_image_view(fn, image, &view); st != VAS_OK) return st;
    vas::Status st = detector->impl->detect(view, &detector->dets);
    if (!st.is_ok()) return fail(st.with_context(fn));
    detector->out.resize(detector->dets.size());
    for (size_t i = 0; i < detector->dets.size(); ++i) {
      const vas::Detection& d = detector->dets[i];
      vas_detection_t& o = detector->out[i];
      o.x1 = d.x1;
      o.y1 = d.y1;
      o.x2 = d.x2;
      o.y2 = d.y2;
      o.score = d.score;
      o.class_id = d.class_id;
      o.num_landmarks = d.num_landmarks;
      std::memcpy(o.landmarks, d.landmarks, sizeof(o.landmarks));
    }
    *out_items = detector->out.data();
    *out_count = detector->out.size();
    return VAS_OK;
  });
}

vas_status_t vas_detector_get_info(const vas_detector_t* detector, vas_detector_info_t* info) {
  constexpr const char* fn = "vas_detector_get_info";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(detector != nullptr && info != nullptr, fn, "detector or info is NULL");
    VAS_CHECK_ARG(info->struct_size >= sizeof(uint32_t), fn, "info.struct_size is not set");
    vas_detector_info_t v{};
    v.struct_size = sizeof(v);
    v.input_width = detector->impl->input_width();
    v.input_height = detector->impl->input_height();
    v.num_classes = static_cast<int32_t>(detector->impl->card().classes.size());
    v.model_name = detector->impl->card().name.c_str();
    v.backend = detector->backend.c_str();
    write_versioned(v, info);
    return VAS_OK;
  });
}

vas_status_t vas_detector_get_class_name(const vas_detector_t* detector, int32_t class_id,
                                         const char** out_name) {
  constexpr const char* fn = "vas_detector_get_class_name";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(detector != nullptr && out_name != nullptr, fn, "detector or out_name is NULL");
    const auto& classes = detector->impl->card().classes;
    if (class_id < 0 || static_cast<size_t>(class_id) >= classes.size()) {
      return fail(VAS_ERR_INVALID_ARGUMENT, std::string(fn) + ": class_id " +
                                                std::to_string(class_id) + " is outside 0.." +
                                                std::to_string(classes.size() - 1));
    }
    *out_name = classes[class_id].c_str();
    return VAS_OK;
  });
}

void vas_video_reader_config_init(vas_video_reader_config_t* config) {
  if (!config) return;
  std::memset(config, 0, sizeof(*config));
  config->struct_size = sizeof(*config);
  config->output_format = VAS_PIXEL_FORMAT_BGR24;
}

vas_status_t vas_video_reader_create(const vas_video_reader_config_t* config,
                                     vas_video_reader_t** out) {
  constexpr const char* fn = "vas_video_reader_create";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(config != nullptr, fn, "config is NULL");
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    vas_video_reader_config_t cfg;
    if (!read_versioned(config, sizeof(vas_video_reader_config_t), &cfg)) {
      return fail(VAS_ERR_INVALID_ARGUMENT, struct_size_message(fn, "vas_video_reader_config_t",
                                                                config->struct_size, sizeof(cfg)));
    }
    VAS_CHECK_ARG(cfg.url != nullptr && *cfg.url, fn, "config.url is NULL or empty");
    vas::VideoReaderOptions opts;
    const int fmt = cfg.output_format ? cfg.output_format : VAS_PIXEL_FORMAT_BGR24;
    if (fmt != VAS_PIXEL_FORMAT_BGR24 && fmt != VAS_PIXEL_FORMAT_RGB24 &&
        fmt != VAS_PIXEL_FORMAT_NV12) {
      return fail(VAS_ERR_INVALID_ARGUMENT, std::string(fn) + ": output_format " +
                                                std::to_string(fmt) +
                                                " is not BGR24, RGB24 or NV12");
    }
    VAS_CHECK_ARG(cfg.open_timeout_ms >= 0 && cfg.read_timeout_ms >= 0, fn,
                  "timeouts must be >= 0");
    opts.output_format = static_cast<vas::PixelFormat>(fmt);
    if (cfg.open_timeout_ms > 0) opts.open_timeout_ms = cfg.open_timeout_ms;
    if (cfg.read_timeout_ms > 0) opts.read_timeout_ms = cfg.read_timeout_ms;
    auto reader = vas::VideoReader::open(cfg.url, opts);
    if (!reader.is_ok()) return fail(reader.status());
    auto handle = std::make_unique<vas_video_reader>();
    handle->impl = std::move(reader).value();
    *out = handle.release();
    return VAS_OK;
  });
}

void vas_video_reader_destroy(vas_video_reader_t* reader) { delete reader; }

vas_status_t vas_video_reader_get_info(const vas_video_reader_t* reader, vas_video_info_t* info) {
  constexpr const char* fn = "vas_video_reader_get_info";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(reader != nullptr && info != nullptr, fn, "reader or info is NULL");
    VAS_CHECK_ARG(info->struct_size >= sizeof(uint32_t), fn, "info.struct_size is not set");
    const vas::VideoInfo& i = reader->impl->info();
    vas_video_info_t v{};
    v.struct_size = sizeof(v);
    v.width = i.width;
    v.height = i.height;
    v.fps = i.fps;
    v.frame_count = i.frame_count;
    write_versioned(v, info);
    return VAS_OK;
  });
}

vas_status_t vas_video_reader_get_stats(const vas_video_reader_t* reader,
                                        vas_video_reader_stats_t* stats) {
  constexpr const char* fn = "vas_video_reader_get_stats";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(reader != nullptr && stats != nullptr, fn, "reader or stats is NULL");
    VAS_CHECK_ARG(stats->struct_size >= sizeof(uint32_t), fn, "stats.struct_size is not set");
    const vas::VideoReaderStats s = reader->impl->stats();
    vas_video_reader_stats_t v{};
    v.struct_size = sizeof(v);
    v.truncated = s.truncated ? 1 : 0;
    v.decoded = s.decoded;
    v.damaged = s.damaged;
    v.rejected_packets = s.rejected_packets;
    write_versioned(v, stats);
    return VAS_OK;
  });
}

vas_status_t vas_video_reader_read(vas_video_reader_t* reader, vas_image_t* frame,
                                   int64_t* out_pts_us) {
  constexpr const char* fn = "vas_video_reader_read";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(reader != nullptr && frame != nullptr, fn, "reader or frame is NULL");
    if (frame->struct_size < sizeof(vas_image_t)) {
      return fail(VAS_ERR_INVALID_ARGUMENT,
                  struct_size_message(fn, "vas_image_t", frame->struct_size, sizeof(vas_image_t)));
    }
    vas::Frame f;
    vas::Status st = reader->impl->read(&f);
    if (st.code() == vas::StatusCode::kEndOfStream) return VAS_END_OF_STREAM;
    if (!st.is_ok()) return fail(st.with_context(fn));
    vas_image_t img;
    vas_image_init(&img);
    img.format = static_cast<int32_t>(f.image.format);
    img.width = f.image.width;
    img.height = f.image.height;
    for (int p = 0; p < 3; ++p) {
      img.planes[p] = f.image.planes[p];
      img.strides[p] = f.image.strides[p];
    }
    write_versioned(img, frame);
    if (out_pts_us) *out_pts_us = f.pts_us;
    return VAS_OK;
  });
}

}  // extern "C"
