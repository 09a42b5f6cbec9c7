#include "io/source.h"

#include <string>
#include <utility>

#include "io/source_internal.h"
#include "io/video_reader.h"

namespace vas {

const char* source_event_kind_name(SourceEvent::Kind kind) {
  switch (kind) {
    case SourceEvent::Kind::kConnected:
      return "connected";
    case SourceEvent::Kind::kDisconnected:
      return "disconnected";
    case SourceEvent::Kind::kReconnected:
      return "reconnected";
    case SourceEvent::Kind::kEndOfStream:
      return "end_of_stream";
    case SourceEvent::Kind::kError:
      return "error";
    case SourceEvent::Kind::kDamaged:
      return "damaged";
  }
  return "unknown";
}

namespace source_detail {

SourceEvent make_event(SourceEvent::Kind kind, std::string cause) {
  SourceEvent e;
  e.kind = kind;
  e.cause = std::move(cause);
  e.wall_us = wall_clock_us();
  return e;
}

}  // namespace source_detail

namespace {

Status check_config(const SourceConfig& c) {
  const auto bad = [](const std::string& field, const std::string& why) {
    return invalid_config("source." + field + ": " + why);
  };
  if (c.url.empty()) return bad("url", "missing (a file path, file://PATH or rtsp://...)");
  if (c.transport != "tcp" && c.transport != "udp") {
    return bad("transport", "expected 'tcp' or 'udp', got '" + c.transport + "'");
  }
  if (c.open_timeout_ms <= 0) {
    return bad("open_timeout_ms", "must be > 0, got " + std::to_string(c.open_timeout_ms));
  }
  if (c.read_timeout_ms <= 0) {
    return bad("read_timeout_ms", "must be > 0, got " + std::to_string(c.read_timeout_ms));
  }
  if (c.reconnect_initial_ms <= 0) {
    return bad("reconnect_initial_ms",
               "must be > 0, got " + std::to_string(c.reconnect_initial_ms));
  }
  if (c.reconnect_max_ms < c.reconnect_initial_ms) {
    return bad("reconnect_max_ms", "must be >= reconnect_initial_ms (" +
                                       std::to_string(c.reconnect_initial_ms) + "), got " +
                                       std::to_string(c.reconnect_max_ms));
  }
  if (c.format != PixelFormat::kBGR24 && c.format != PixelFormat::kRGB24 &&
      c.format != PixelFormat::kNV12) {
    return bad("format",
               std::string("expected BGR24, RGB24 or NV12, got ") + pixel_format_name(c.format));
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Source>> open_source(const SourceConfig& config,
                                            SourceEventCallback on_event) {
  VAS_RETURN_IF_ERROR(check_config(config));
  const std::string scheme = url_scheme(config.url);
  if (scheme.empty())
    return source_detail::open_file_source(config, config.url, std::move(on_event));
  if (scheme == "file") {
    // file:///abs/path and file://rel/path both name a local path.
    const std::string path = config.url.substr(config.url.find("://") + 3);
    if (path.empty()) return invalid_config("source.url: '" + config.url + "' names no file");
    return source_detail::open_file_source(config, path, std::move(on_event));
  }
  if (scheme == "rtsp" || scheme == "rtsps") {
    return source_detail::make_rtsp_source(config, std::move(on_event));
  }
  return invalid_config("source.url: unsupported scheme '" + scheme + "' in '" +
                        redact_url(config.url) + "' (use a file path, file:// or rtsp://)");
}

}  // namespace vas
