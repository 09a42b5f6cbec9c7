// Sinks: where results and events go (JSON lines files, MQTT brokers, a best-shot folder).
//
// Every sink runs behind a bounded outbox served by the sink's own thread, so a slow disk or a
// dead broker never stalls the caller: publish() only takes a lock for a queue push and never
// waits. A full outbox drops the new message and counts it (dropped_by_reason["outbox_full"]);
// nothing is lost without a count. When the connection (file, broker) fails, the thread reports
// one "sink_disconnected" event per outage with the cause, retries with exponential backoff plus
// jitter, and reports "sink_reconnected" when it is back. close() flushes with a deadline and
// joins the thread; whatever is still queued at the deadline is counted as dropped "shutdown".
//
// The layer knows nothing about the pipeline: messages are plain values (SinkMessage), and the
// pipeline converts its results and events to them (csrc/pipeline/sink_messages.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace vas {

// One message for the sinks.
struct SinkMessage {
  std::string channel;         // channel id; MQTT topic <prefix>/<channel>/<kind>
  std::string kind;            // "result", "rule", "best_shot", "track_start", "source"...
  std::string json;            // one JSON object, compact (no raw newline)
  int64_t ts_us = 0;           // the message's time (us since the Unix epoch)
  std::vector<uint8_t> image;  // optional JPEG (best shot): only the best-shot store keeps it
};

// A change in a sink's connection, reported to the owner's callback.
struct SinkEvent {
  std::string sink;   // the sink's name
  std::string kind;   // "sink_disconnected" or "sink_reconnected"
  std::string cause;  // why (broker error, TLS failure, file error) or how long the outage was
  int64_t wall_us = 0;
};
using SinkEventCallback = std::function<void(const SinkEvent&)>;

struct SinkStats {
  std::string name;
  std::string type;
  bool connected = false;
  uint64_t queued = 0;     // accepted into the outbox
  uint64_t delivered = 0;  // written (file), acknowledged (MQTT QoS 1) or sent (QoS 0)
  uint64_t failed = 0;     // rejected for good by the destination (e.g. too large)
  uint64_t dropped = 0;    // sum of dropped_by_reason
  std::map<std::string, uint64_t> dropped_by_reason;  // outbox_full, shutdown
  uint64_t redelivered = 0;  // sent again after a reconnect (QoS 1: may arrive twice)
  uint64_t reconnects = 0;   // outages that ended in a successful reconnect
  uint64_t connect_failures = 0;
  size_t outbox_depth = 0;  // messages waiting in the outbox now
  size_t in_flight = 0;     // sent, waiting for an acknowledgement
  std::string last_error;
};

// Common settings of every sink (the "outbox" and reconnect fields of a sink config).
struct OutboxConfig {
  size_t capacity = 1000;  // messages
  int reconnect_initial_ms = 500;
  int reconnect_max_ms = 30000;
};

// The destination behind a Sink. Every method is called on the sink's thread only, one at a
// time, so implementations need no locks of their own.
class SinkBackend {
 public:
  enum class SendResult { kAccepted, kConnectionLost, kBusy, kFailed };

  virtual ~SinkBackend() = default;
  virtual const char* type() const = 0;
  // Opens the destination (file, broker connection). A failure names the cause; the sink
  // retries with backoff. `abort` turns true when close() has run out of time: a connect that
  // waits for the network must check it at least every 100 ms.
  virtual Status connect(const std::atomic<bool>& abort) = 0;
  virtual void disconnect() = 0;
  // Whether another message may be sent now (false while an acknowledgement window is full).
  virtual bool can_send() const { return true; }
  // Sends one message. kAccepted: delivered now or in flight; kConnectionLost: the message was
  // not taken (it is retried first after the reconnect); kBusy: not taken, try again after the
  // next wait, no reconnect; kFailed: never deliverable, *error says why. Delivery is reported
  // through delivered().
  virtual SendResult send(const SinkMessage& m, std::string* error) = 0;
  // The socket to wait on while idle (-1: none) and whether to wait for it to be writable.
  virtual int wait_fd(bool* want_write) const {
    *want_write = false;
    return -1;
  }
  // Services the connection (reads acknowledgements, sends pings) after a wait; a non-OK
  // result means the connection is lost.
  virtual Status service() { return Status::ok(); }
  // After a lost connection: the messages sent but not acknowledged, oldest first; the sink
  // sends them again after the reconnect.
  virtual std::vector<SinkMessage> take_unacknowledged() { return {}; }
  virtual size_t in_flight() const { return 0; }
  // Messages delivered since the last call (acknowledged or written).
  virtual uint64_t take_delivered() = 0;
  // Messages the destination gave up on after accepting them, since the last call, and why.
  virtual uint64_t take_failed(std::string* /*error*/) { return 0; }
};

// A backend behind a bounded outbox and its own thread.
// Thread safety: publish(), stats() and close() may be called from any thread. The event
// callback runs on the sink's thread and must not call close() on the same sink.
// Ownership: owns the backend and the thread; the destructor closes with a 1 s deadline.
class Sink {
 public:
  Sink(std::string name, std::unique_ptr<SinkBackend> backend, OutboxConfig config,
       SinkEventCallback on_event);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  const std::string& name() const { return name_; }
  // Queues `m` without waiting: it is moved from only when accepted, so a caller can still
  // route a refused message elsewhere. False when the outbox is full or the sink is closing:
  // the message is counted as dropped.
  bool publish(SinkMessage& m);
  bool publish(SinkMessage&& m) { return publish(m); }
  SinkStats stats() const;
  // Delivers what is queued until the outbox and the acknowledgement window are empty or
  // `flush_timeout_ms` has passed, then disconnects and joins the thread. Messages left are
  // counted as dropped "shutdown". Idempotent. From the sink's own event callback:
  // kInvalidArgument (it would wait for itself).
  Status close(int flush_timeout_ms);

 private:
  void run();
  void wake();
  bool connect_with_backoff();
  void lost_connection(const std::string& cause);
  void emit(const char* kind, const std::string& cause);
  bool flush_done();

  const std::string name_;
  std::unique_ptr<SinkBackend> backend_;
  const OutboxConfig config_;
  SinkEventCallback on_event_;
  int wake_fd_ = -1;  // eventfd: publish() and close() wake the thread out of poll()

  std::mutex close_mu_;  // one close() at a time (it joins the thread)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SinkMessage> outbox_;
  bool closing_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> abort_{false};
  SinkStats stats_;
  bool finished_ = false;   // the thread has left its loop
  std::thread::id own_id_;  // the sink's thread, to refuse close() from its callback

  // Thread-only state.
  std::deque<SinkMessage> retry_;  // unacknowledged messages to send again, oldest first
  size_t resend_count_ = 0;        // how many at the front of retry_ were sent before
  std::chrono::steady_clock::time_point next_attempt_;
  bool connected_ = false;
  bool in_outage_ = false;
  std::chrono::steady_clock::time_point outage_start_;
  int backoff_ms_ = 0;
  std::thread thread_;
};

int64_t sink_wall_us();

}  // namespace vas
