// MQTT sink over libmosquitto, driven by the sink's own thread (no libmosquitto thread): the
// client's socket is polled by Sink::run() and serviced with mosquitto_loop(timeout 0), so every
// libmosquitto callback runs on that thread and this class needs no lock.
#include "sinks/backends.h"

#ifdef VASDK_WITH_MOSQUITTO

#include <mosquitto.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_set>

namespace vas {
namespace {

// MQTT topic levels may not contain the separators or wildcards.
std::string topic_level(const std::string& s) {
  if (s.empty()) return "_";
  std::string out = s;
  for (char& ch : out) {
    if (ch == '/' || ch == '+' || ch == '#' || ch == '\0') ch = '_';
  }
  return out;
}

class MqttBackend : public SinkBackend {
 public:
  MqttBackend(MqttSinkConfig c, const std::string& sink_name) : c_(std::move(c)) {
    if (c_.client_id.empty())
      c_.client_id = "vasdk-" + std::to_string(getpid()) + "-" + sink_path_component(sink_name);
    where_ = c_.host + ":" + std::to_string(c_.port);
  }
  ~MqttBackend() override { disconnect(); }

  const char* type() const override { return "mqtt"; }

  Status connect(const std::atomic<bool>& abort) override {
    disconnect();
    last_log_error_.clear();
    connack_ = -1;
    lost_ = false;
    mosq_ = mosquitto_new(c_.client_id.c_str(), true, this);
    if (!mosq_) return runtime_error("mqtt " + where_ + ": cannot create a client: out of memory");
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
      static_cast<MqttBackend*>(self)->connack_ = rc;
    });
    mosquitto_disconnect_callback_set(
        mosq_, [](mosquitto*, void* self, int) { static_cast<MqttBackend*>(self)->lost_ = true; });
    mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* self, int mid) {
      static_cast<MqttBackend*>(self)->acked(mid);
    });
    mosquitto_log_callback_set(mosq_, [](mosquitto*, void* self, int level, const char* text) {
      if ((level & MOSQ_LOG_ERR) && text) static_cast<MqttBackend*>(self)->last_log_error_ = text;
    });
    if (!c_.username.empty()) {
      const int rc = mosquitto_username_pw_set(mosq_, c_.username.c_str(),
                                               c_.password.empty() ? nullptr : c_.password.c_str());
      if (rc != MOSQ_ERR_SUCCESS) return error("username", rc);
    }
    if (c_.tls.enabled) {
      const auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
      int rc = mosquitto_tls_set(mosq_, opt(c_.tls.ca_file), nullptr, opt(c_.tls.cert_file),
                                 opt(c_.tls.key_file), nullptr);
      if (rc != MOSQ_ERR_SUCCESS) {
        return invalid_config("mqtt " + where_ + ": TLS files rejected (ca_file '" +
                              c_.tls.ca_file + "', cert_file '" + c_.tls.cert_file +
                              "', key_file '" + c_.tls.key_file + "'): " + mosquitto_strerror(rc) +
                              log_suffix());
      }
      rc = mosquitto_tls_opts_set(mosq_, c_.tls.verify ? 1 : 0, nullptr, nullptr);
      if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_insecure_set(mosq_, !c_.tls.verify);
      if (rc != MOSQ_ERR_SUCCESS) return error("TLS options", rc);
    }
    int rc = mosquitto_connect_async(mosq_, c_.host.c_str(), c_.port, c_.keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS) return error("connect", rc);
    // Drive the handshake (TCP, TLS, CONNECT/CONNACK) with short waits so that close() can
    // abort it.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(c_.connect_timeout_ms);
    while (connack_ < 0) {
      if (abort) return {StatusCode::kTimeout, "mqtt " + where_ + ": connect aborted by close"};
      if (std::chrono::steady_clock::now() >= deadline) {
        return {StatusCode::kTimeout, "mqtt " + where_ + ": no CONNACK within " +
                                          std::to_string(c_.connect_timeout_ms) + " ms" +
                                          log_suffix()};
      }
      rc = mosquitto_loop(mosq_, 50, 1);
      if (rc != MOSQ_ERR_SUCCESS || lost_) {
        return error(c_.tls.enabled ? "TLS or MQTT handshake" : "MQTT handshake",
                     rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc);
      }
    }
    if (connack_ != 0) {
      return io_error("mqtt " + where_ +
                      ": broker refused the connection: " + mosquitto_connack_string(connack_));
    }
    return Status::ok();
  }

  void disconnect() override {
    if (!mosq_) return;
    if (connack_ == 0 && !lost_) {
      // Best effort: tell the broker this was intended, so it does not publish a will.
      (void)mosquitto_disconnect(mosq_);
      (void)mosquitto_loop(mosq_, 0, 1);
    }
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
    connack_ = -1;
  }

  bool can_send() const override {
    return unacked_.size() < static_cast<size_t>(std::max(1, c_.max_inflight));
  }

  SendResult send(const SinkMessage& m, std::string* error) override {
    const std::string topic =
        c_.topic_prefix + "/" + topic_level(m.channel) + "/" + topic_level(m.kind);
    int mid = 0;
    const int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(m.json.size()),
                                     m.json.data(), c_.qos, c_.retain);
    switch (rc) {
      case MOSQ_ERR_SUCCESS:
        break;
      case MOSQ_ERR_PAYLOAD_SIZE:
      case MOSQ_ERR_OVERSIZE_PACKET:
      case MOSQ_ERR_MALFORMED_UTF8:
      case MOSQ_ERR_INVAL:
      case MOSQ_ERR_QOS_NOT_SUPPORTED:
        *error = "mqtt " + where_ + ": cannot publish to '" + topic + "': " + rc_text(rc);
        return SendResult::kFailed;
      default:
        *error = "mqtt " + where_ + ": publish failed: " + rc_text(rc);
        return SendResult::kConnectionLost;
    }
    // For QoS 0 libmosquitto may report the write from inside mosquitto_publish().
    if (early_.erase(mid)) {
      ++delivered_;
    } else {
      unacked_.push_back({mid, m});
      // Images never go to a broker; drop the copy's bytes.
      unacked_.back().second.image.clear();
    }
    return SendResult::kAccepted;
  }

  int wait_fd(bool* want_write) const override {
    *want_write = mosq_ && mosquitto_want_write(mosq_);
    return mosq_ ? mosquitto_socket(mosq_) : -1;
  }

  Status service() override {
    if (!mosq_) return io_error("mqtt " + where_ + ": not connected");
    const int rc = mosquitto_loop(mosq_, 0, 1);
    if (rc != MOSQ_ERR_SUCCESS || lost_) {
      lost_ = true;
      return error("connection", rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc);
    }
    return Status::ok();
  }

  std::vector<SinkMessage> take_unacknowledged() override {
    std::vector<SinkMessage> out;
    out.reserve(unacked_.size());
    for (auto& [mid, m] : unacked_) out.push_back(std::move(m));
    unacked_.clear();
    early_.clear();
    return out;
  }

  size_t in_flight() const override { return unacked_.size(); }

  uint64_t take_delivered() override {
    const uint64_t d = delivered_;
    delivered_ = 0;
    return d;
  }

 private:
  void acked(int mid) {
    // Acknowledgements come in order, so the match is almost always at the front.
    for (auto it = unacked_.begin(); it != unacked_.end(); ++it) {
      if (it->first == mid) {
        unacked_.erase(it);
        ++delivered_;
        return;
      }
    }
    early_.insert(mid);
  }

  std::string rc_text(int rc) const {
    if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
    return mosquitto_strerror(rc);
  }
  std::string log_suffix() const {
    return last_log_error_.empty() ? std::string() : " (" + last_log_error_ + ")";
  }
  Status error(const std::string& what, int rc) const {
    return io_error("mqtt " + where_ + ": " + what + " failed: " + rc_text(rc) + log_suffix());
  }

  MqttSinkConfig c_;
  std::string where_;
  mosquitto* mosq_ = nullptr;
  int connack_ = -1;
  bool lost_ = false;
  std::string last_log_error_;
  std::deque<std::pair<int, SinkMessage>> unacked_;  // send order
  std::unordered_set<int> early_;                    // acknowledged before publish() returned
  uint64_t delivered_ = 0;
};

}  // namespace

bool mqtt_available() { return true; }

Result<std::unique_ptr<SinkBackend>> make_mqtt_backend(const MqttSinkConfig& config,
                                                       const std::string& sink_name) {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
  return std::unique_ptr<SinkBackend>(std::make_unique<MqttBackend>(config, sink_name));
}

}  // namespace vas

#else  // !VASDK_WITH_MOSQUITTO

namespace vas {

bool mqtt_available() { return false; }

Result<std::unique_ptr<SinkBackend>> make_mqtt_backend(const MqttSinkConfig&,
                                                       const std::string& sink_name) {
  return unsupported("sink '" + sink_name +
                     "': type 'mqtt' needs libmosquitto, which this build of vasdk does not "
                     "have (install libmosquitto-dev, e.g. scripts/setup.sh, and rebuild)");
}

}  // namespace vas

#endif
