// The built-in sink backends and their settings. SinkSet (sink_set.h) builds them from JSON;
// tests and embedders may build them directly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sinks/sink.h"
#include "sinks/tls.h"

namespace vas {

// One JSON object per line, appended to `path` (created 0600). When the next line would push the
// file past max_bytes it is rotated: path -> path.1 -> path.2 ... and files beyond
// max_files (the live file included) are deleted.
struct JsonlSinkConfig {
  std::string path;
  uint64_t max_bytes = 64ull << 20;
  int max_files = 5;
  bool fsync = false;  // fsync after every line (slow; survives power loss)
};
std::unique_ptr<SinkBackend> make_jsonl_backend(const JsonlSinkConfig& config);

using MqttTlsConfig = TlsConfig;

// Publishes each message's JSON to <topic_prefix>/<channel>/<kind>. QoS 1 keeps a message until
// the broker's PUBACK; after a lost connection the unacknowledged ones are sent again first
// (at-least-once: a message may then arrive twice, counted as redelivered). Images are never
// sent. The client is created afresh for every connection so that only this window decides what
// is sent again.
struct MqttSinkConfig {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string topic_prefix = "vasdk";
  int qos = 1;
  std::string client_id;  // empty: "vasdk-<pid>-<sink name>"
  int keepalive_s = 30;
  std::string username, password;
  int max_inflight = 100;  // QoS 1 messages sent and not yet acknowledged
  int connect_timeout_ms = 5000;
  bool retain = false;
  MqttTlsConfig tls;
};
// kUnsupported when vasdk was built without libmosquitto.
Result<std::unique_ptr<SinkBackend>> make_mqtt_backend(const MqttSinkConfig& config,
                                                       const std::string& sink_name);
bool mqtt_available();

// Kafka through librdkafka: every message to `topic`, keyed by its channel (one channel keeps
// one partition and its order), with a "kind" header. The producer is idempotent; librdkafka
// reconnects and retries by itself until message_timeout_ms, after which a message counts as
// failed. `properties` are passed to librdkafka as they are (e.g. "acks", "compression.type",
// "security.protocol", "test.mock.num.brokers") and override the defaults.
struct KafkaSinkConfig {
  std::string brokers;  // bootstrap.servers
  std::string topic = "vasdk";
  int max_inflight = 10000;  // messages handed to librdkafka and not yet reported
  int message_timeout_ms = 30000;
  TlsConfig tls;  // "tls": security.protocol=ssl with these files (see sinks/tls.h)
  std::map<std::string, std::string> properties;
};
// kUnsupported when vasdk was built without librdkafka.
Result<std::unique_ptr<SinkBackend>> make_kafka_backend(const KafkaSinkConfig& config,
                                                        const std::string& sink_name);
bool kafka_available();

// Best-shot JPEGs under <dir>/<channel>/<ts_us>-<n>.jpg (folders 0700, files 0600, written to
// a temporary name and renamed, so a reader never sees half a file). After the file is stored,
// the message goes on through `forward` with "image_path" and "image_bytes" added to its JSON
// (a claim check: the image itself never reaches a broker); if the file cannot be written the
// message still goes on, with "image_error". Retention deletes the oldest files once any limit
// is passed (0 = no limit); files already in the folder at start count too.
struct BestShotStoreConfig {
  std::string dir;
  int64_t max_count = 10000;
  int64_t max_bytes = 0;
  double max_age_s = 0;
};
std::unique_ptr<SinkBackend> make_best_shot_backend(const BestShotStoreConfig& config,
                                                    std::function<void(SinkMessage)> forward);

// Safe path component from a channel id: [A-Za-z0-9._-] kept, everything else '_', never
// "." or "..".
std::string sink_path_component(const std::string& s);

}  // namespace vas
