// Sources: where a channel's frames come from (a video file or an RTSP camera), behind one
// interface that owns reconnects, pacing and timestamps, so that a channel's decode thread only
// loops on read() and checks its stop flag.
//
// Errors on the way (a camera that drops, a file that ends) become SourceEvents and statuses,
// never crashes: a dead camera at start-up is not an open_source() error, it is a source that
// reports kDisconnected with the cause and keeps retrying inside read().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/frame.h"
#include "core/image.h"
#include "core/pool.h"
#include "core/status.h"

namespace vas {

class ConfigObject;

struct SourceConfig {             // parsed from the channel's "source" JSON object
  std::string url;                // a path, file://PATH or rtsp://; other schemes: kInvalidConfig
  bool loop = false;              // files: start again at the end
  bool realtime = false;          // files: pace at the file's frame rate, like a camera
  std::string transport = "tcp";  // rtsp: "tcp" or "udp"
  int open_timeout_ms = 5000;     // rtsp: bound on one connection attempt
  int read_timeout_ms = 5000;     // rtsp: silence that counts as a lost connection
  // rtsp: the first attempt after a lost connection is immediate; the delay before the next
  // one, n (n = 0, 1, ...), is min(reconnect_max_ms, reconnect_initial_ms * 2^n), times a random
  // factor in [0.8, 1.2] (jitter, so that cameras behind one switch do not all retry at once),
  // never above reconnect_max_ms. A refused attempt in the first 60 s of an outage that
  // follows a healthy run (a camera restarting) waits reconnect_initial_ms (n stays 0). With
  // the defaults a camera is tried at least every 2 s, and a restarting one about every 0.5 s.
  // A config that sets only reconnect_initial_ms above 2000 gets reconnect_max_ms equal to it.
  int reconnect_initial_ms = 500;
  int reconnect_max_ms = 2000;
  PixelFormat format = PixelFormat::kBGR24;  // BGR24, RGB24 or NV12
};

// What a source lost to damaged or missing input so far (files: the whole file at the end).
struct SourceDamage {
  uint64_t rejected_packets = 0;  // packets the decoder refused
  uint64_t corrupt_frames = 0;    // frames the decoder flagged corrupt (dropped)
  uint64_t skipped_bytes = 0;     // bytes of rejected or corrupt packets and resync gaps
  uint64_t after_error = 0;       // frames passed on after an error, before a clean keyframe
  uint64_t missing_frames = 0;    // frames short of the declared end, in a whole file
  bool truncated = false;         // the file ended before its declared end
  bool any() const {
    return truncated || rejected_packets || corrupt_frames || skipped_bytes || missing_frames;
  }
};

struct SourceEvent {
  // kDamaged: a file's source reports it once, just before kEndOfStream, when the file was
  // damaged or truncated (`damage` holds the totals). kEndOfStream carries `end_reason`.
  enum class Kind { kConnected, kDisconnected, kReconnected, kEndOfStream, kError, kDamaged };
  Kind kind = Kind::kError;
  std::string cause;  // what happened, naming the url (credentials hidden)
  int64_t wall_us = 0;
  SourceDamage damage;     // kDamaged and kEndOfStream: the totals
  std::string end_reason;  // kEndOfStream: "complete", "truncated" or "damaged"
};

// "connected", "disconnected", "reconnected", "end_of_stream", "error", "damaged".
const char* source_event_kind_name(SourceEvent::Kind kind);

struct SourceStats {
  uint64_t frames = 0;           // frames returned by read()
  uint64_t skipped_packets = 0;  // corrupt packets the decoder rejected (all connections)
  uint64_t disconnects = 0;      // connections lost, and failed first connections
  uint64_t reconnects = 0;       // connections re-established after a loss
  uint64_t attempts = 0;         // connection attempts that failed
  uint64_t pool_exhausted = 0;   // read() calls answered kPoolExhausted
  uint64_t loops = 0;            // times a looping file started again
  bool connected = false;        // a stream is open now
  std::string last_cause;        // the cause of the last disconnect or error
  SourceDamage damage;           // files: what the decoder lost (all loops)
  std::string end_reason;        // files, once ended: "complete", "truncated" or "damaged"
};

// Thread safety: read() is for one thread at a time (the channel's decode thread), which is also
// the thread the event callback runs on. interrupt(), fps() and stats() may be called from any
// thread. The source does not keep `pool`: frames own their blocks.
class Source {
 public:
  virtual ~Source() = default;
  // Next frame into a block from `pool`. Handles reconnects itself (RTSP): while the camera is
  // down it keeps retrying with backoff and returns kTimeout (with the cause) so the caller can
  // check its stop flag; one call lasts at most open_timeout_ms + read_timeout_ms. Returns
  // kEndOfStream at the end of a file (not looping), kCancelled after interrupt() (on every
  // later call too), and kPoolExhausted when the pool is full: then nothing is consumed, and the
  // next call returns the same frame. ts_us of returned frames never goes backwards: a PTS that
  // restarts (reconnect, loop) continues one frame interval after the last output.
  virtual Status read(Pool& pool, VideoFrame* out) = 0;
  // Any thread: a blocked open, read or pacing wait returns kCancelled within about 100 ms.
  virtual void interrupt() = 0;
  virtual double fps() const = 0;  // nominal frame rate, 0 while unknown
  virtual SourceStats stats() const = 0;
};

using SourceEventCallback = std::function<void(const SourceEvent&)>;

// Validates `config` (kInvalidConfig naming the field, or the unsupported url scheme) and creates
// its source. Files are opened at once (kNotFound, kUnsupported, ... for a bad file); RTSP
// sources connect lazily inside read(), so an unreachable camera is not an error here.
// `on_event` may be empty; it runs on the thread that calls read(). Events: kConnected,
// kDisconnected (once per outage, also when the first connection fails) and kReconnected from
// RTSP; kEndOfStream and kError once, when read() first returns that final status (callers need
// not report it again).
Result<std::unique_ptr<Source>> open_source(const SourceConfig& config,
                                            SourceEventCallback on_event = {});

// Reads a channel's "source" object into *config, keeping defaults for absent fields; errors
// (kInvalidConfig) name the path, e.g. "channels[0].source.read_timeout_ms: expected ...", and
// unknown fields are errors. Only the fields are checked here; open_source() checks the url.
Status parse_source_config(ConfigObject& object, SourceConfig* config);
// The same from JSON text; `path` prefixes field names ("channels[0].source").
Result<SourceConfig> parse_source_config(const std::string& json, const std::string& path);

}  // namespace vas
