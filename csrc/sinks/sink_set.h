// SinkSet: the configured sinks of one application, built from a JSON array.
//
//   [ {"type": "jsonl", "path": "/var/lib/app/events.jsonl", "max_bytes": 67108864, "max_files":
//   5},
//     {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic_prefix": "vasdk", "qos": 1,
//      "tls": {"ca_file": "ca.pem"}, "kinds": ["rule", "best_shot"]},
//     {"type": "best_shot", "dir": "/var/lib/app/shots", "max_count": 1000} ]
//
// Fields every sink takes: "type" (jsonl | mqtt | kafka | best_shot), "name" (default "<type>" or
// "<type>-<index>" when the type repeats), "kinds" (the message kinds it takes; default all),
// "outbox" (capacity in messages, default 1000), "reconnect_initial_ms" (500) and
// "reconnect_max_ms" (30000). Per type:
//   jsonl:     path (required), max_bytes (64 MiB), max_files (5, the live file included),
//              fsync (false)
//   mqtt:      host ("127.0.0.1"), port (1883), topic_prefix ("vasdk"), qos (0 | 1, default 1),
//              client_id ("vasdk-<pid>-<name>"), keepalive_s (30), username, password,
//              max_inflight (100), connect_timeout_ms (5000), retain (false),
//              tls {ca_file (empty: the system's CAs), cert_file, key_file, verify (true)}
//   kafka:     brokers (required), topic ("vasdk"), max_inflight (10000),
//              message_timeout_ms (30000), properties {librdkafka key: string value}
//   best_shot: dir (required), max_count (10000), max_bytes (0 = no limit), max_age_s (0 = none)
// At most one best_shot sink. Unknown fields are errors naming the path ("sinks[1].qoss: unknown
// field").
//
// Routing: a message with an image goes to the best-shot store (when there is one and it takes
// the kind), which writes the file and then hands the message, with "image_path", to the other
// sinks; every other message goes straight to the sinks that take its kind, without the image.
//
// Thread safety: publish() and stats() from any thread; close() once, not from the event
// callback. The event callback runs on the sinks' threads (one sink at a time per sink).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sinks/sink.h"

namespace vas {

class SinkSet {
 public:
  static Result<std::unique_ptr<SinkSet>> create(const std::string& configs_json,
                                                 const SinkEventCallback& on_event = {});
  ~SinkSet();
  SinkSet(const SinkSet&) = delete;
  SinkSet& operator=(const SinkSet&) = delete;

  // Never waits; a sink whose outbox is full counts the message as dropped.
  void publish(SinkMessage m);
  std::vector<SinkStats> stats() const;
  size_t size() const { return routes_.size(); }
  // Flushes every sink within one shared deadline and joins their threads; the best-shot store
  // first, so the messages it forwards still reach the others. kTimeout names the sinks that
  // were left with undelivered messages.
  Status close(int flush_timeout_ms);

 private:
  struct Route {
    std::unique_ptr<Sink> sink;
    std::vector<std::string> kinds;  // empty: all
    bool store = false;
    bool takes(const std::string& kind) const;
  };
  SinkSet() = default;
  void forward(SinkMessage m);  // to every sink but the store

  std::vector<Route> routes_;
  Route* store_ = nullptr;
  bool closed_ = false;
};

}  // namespace vas
