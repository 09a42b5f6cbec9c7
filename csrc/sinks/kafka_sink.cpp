// Kafka sink over librdkafka. Messages are keyed by channel, so one channel's messages share a
// partition and keep their order; the producer is idempotent, so librdkafka's own retries never
// duplicate or reorder them. librdkafka reconnects by itself and keeps unacknowledged messages
// until message_timeout_ms; this backend counts a message delivered on its delivery report and
// failed when librdkafka gives up on it. Delivery reports wake the sink's thread through a pipe
// (rd_kafka_queue_io_event_enable), so nothing polls on a timer.
#include "sinks/backends.h"

#ifdef VASDK_WITH_RDKAFKA

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <map>

namespace vas {
namespace {

class KafkaBackend : public SinkBackend {
 public:
  explicit KafkaBackend(KafkaSinkConfig c) : c_(std::move(c)) {}
  ~KafkaBackend() override { disconnect(); }

  const char* type() const override { return "kafka"; }

  Status connect(const std::atomic<bool>&) override {
    disconnect();
    VAS_RETURN_IF_ERROR(check_tls_files(c_.tls).with_context("kafka"));
    char err[512] = {0};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::map<std::string, std::string> props = {
        {"bootstrap.servers", c_.brokers},
        {"enable.idempotence", "true"},
        {"message.timeout.ms", std::to_string(c_.message_timeout_ms)},
        {"linger.ms", "5"},
    };
    for (const auto& [k, v] : kafka_tls_properties(c_.tls)) props[k] = v;
    for (const auto& [k, v] : c_.properties) props[k] = v;
    for (const auto& [k, v] : props) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return invalid_config("kafka property '" + k + "': " + err);
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* self) {
      static_cast<KafkaBackend*>(self)->report(m);
    });
    rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int, const char* reason, void* self) {
      static_cast<KafkaBackend*>(self)->last_error_ = reason ? reason : "";
    });
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));  // takes conf on success
    if (!rk_) {
      rd_kafka_conf_destroy(conf);
      return invalid_config("kafka " + c_.brokers + ": cannot create a producer: " + err);
    }
    if (pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
      pipe_[0] = pipe_[1] = -1;
    } else {
      queue_ = rd_kafka_queue_get_main(rk_);
      static const char kByte = 1;
      rd_kafka_queue_io_event_enable(queue_, pipe_[1], &kByte, 1);
    }
    return Status::ok();
  }

  void disconnect() override {
    if (!rk_) return;
    // Undelivered messages are counted by the sink (take_unacknowledged); do not wait for them.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_, 0);
    if (queue_) rd_kafka_queue_destroy(queue_);
    queue_ = nullptr;
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    for (int& fd : pipe_) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }

  bool can_send() const override {
    return pending_.size() < static_cast<size_t>(std::max(1, c_.max_inflight));
  }

  SendResult send(const SinkMessage& m, std::string* error) override {
    const uint64_t id = ++next_id_;
    const rd_kafka_resp_err_t rc = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(c_.topic.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(m.channel.data()), m.channel.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(m.json.data()), m.json.size()),
        RD_KAFKA_V_HEADER("kind", m.kind.data(), static_cast<ssize_t>(m.kind.size())),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(id))), RD_KAFKA_V_END);
    if (rc == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // librdkafka's own queue is full (its limits were set below max_inflight): wait.
      return SendResult::kBusy;
    }
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
      *error = "kafka topic '" + c_.topic + "': " + rd_kafka_err2str(rc);
      return SendResult::kFailed;
    }
    SinkMessage copy = m;
    copy.image.clear();
    pending_.emplace(id, std::move(copy));
    return SendResult::kAccepted;
  }

  int wait_fd(bool* want_write) const override {
    *want_write = false;
    return pipe_[0];
  }

  Status service() override {
    if (pipe_[0] >= 0) {
      char buf[64];
      while (::read(pipe_[0], buf, sizeof(buf)) > 0) {
      }
    }
    rd_kafka_poll(rk_, 0);
    return Status::ok();
  }

  std::vector<SinkMessage> take_unacknowledged() override {
    std::vector<SinkMessage> out;
    for (auto& [id, m] : pending_) out.push_back(std::move(m));
    pending_.clear();
    return out;
  }

  size_t in_flight() const override { return pending_.size(); }

  uint64_t take_delivered() override {
    const uint64_t d = delivered_;
    delivered_ = 0;
    return d;
  }

  uint64_t take_failed(std::string* error) override {
    const uint64_t f = failed_;
    failed_ = 0;
    if (f > 0) *error = failed_note_;
    return f;
  }

 private:
  void report(const rd_kafka_message_t* m) {
    const auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
    if (pending_.erase(id) == 0) return;  // purged at disconnect: counted by the sink
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++delivered_;
    } else {
      // librdkafka already retried it until message_timeout_ms: failed for good.
      ++failed_;
      failed_note_ = "kafka topic '" + c_.topic + "': " + rd_kafka_err2str(m->err) +
                     (last_error_.empty() ? "" : " (" + last_error_ + ")");
    }
  }

  const KafkaSinkConfig c_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  int pipe_[2] = {-1, -1};
  uint64_t next_id_ = 0;
  std::map<uint64_t, SinkMessage> pending_;  // by send order
  uint64_t delivered_ = 0, failed_ = 0;
  std::string last_error_, failed_note_;
};

}  // namespace

bool kafka_available() { return true; }

Result<std::unique_ptr<SinkBackend>> make_kafka_backend(const KafkaSinkConfig& config,
                                                        const std::string&) {
  return std::unique_ptr<SinkBackend>(std::make_unique<KafkaBackend>(config));
}

}  // namespace vas

#else  // !VASDK_WITH_RDKAFKA

namespace vas {

bool kafka_available() { return false; }

Result<std::unique_ptr<SinkBackend>> make_kafka_backend(const KafkaSinkConfig&,
                                                        const std::string& sink_name) {
  return unsupported("sink '" + sink_name +
                     "': type 'kafka' needs librdkafka, which this build of vasdk does not have "
                     "(install librdkafka-dev and rebuild)");
}

}  // namespace vas

#endif
