#include "pipeline/cluster_member.h"

#include <algorithm>

#include "core/log.h"

#ifdef VASDK_WITH_RDKAFKA
#include <librdkafka/rdkafka.h>

#include <cstring>
#endif

namespace vas {

#ifdef VASDK_WITH_RDKAFKA

class ClusterMember::Impl {
 public:
  Impl(ClusterConfig c, int channels, PartitionsFn on_assign, PartitionsFn on_revoke,
       NoticeFn on_notice)
      : c_(std::move(c)),
        channels_(channels),
        on_assign_(std::move(on_assign)),
        on_revoke_(std::move(on_revoke)),
        on_notice_(std::move(on_notice)) {}
  ~Impl() {
    stop();
    if (rk_) rd_kafka_destroy(rk_);
  }

  Status init(const std::string& node_id) {
    VAS_RETURN_IF_ERROR(check_tls_files(c_.tls).with_context("cluster"));
    char err[512] = {0};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::map<std::string, std::string> props = {
        {"bootstrap.servers", c_.brokers},
        {"group.id", c_.group},
        {"client.id", node_id},
        // The member id the group reports is derived from client.id; the instance id is left
        // unset: static membership would keep a dead node's channels for the whole timeout
        // even when it restarts at once under a new process.
        {"session.timeout.ms", std::to_string(c_.session_timeout_ms)},
        {"heartbeat.interval.ms", std::to_string(c_.heartbeat_interval_ms)},
        {"partition.assignment.strategy", c_.assignment},
        // Only the assignment matters: no offsets, no messages of interest.
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "latest"},
        {"enable.partition.eof", "false"},
    };
    for (const auto& [k, v] : kafka_tls_properties(c_.tls)) props[k] = v;
    for (const auto& [k, v] : c_.properties) props[k] = v;
    for (const auto& [k, v] : props) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return invalid_config("cluster: kafka property '" + k + "': " + err);
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(
        conf, [](rd_kafka_t* rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t* parts,
                 void* self) { static_cast<Impl*>(self)->rebalance(rk, e, parts); });
    rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int e, const char* reason, void* self) {
      static_cast<Impl*>(self)->notice(
          "error", std::string(rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(e))) + ": " +
                       (reason ? reason : ""));
    });
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));  // takes conf on success
    if (!rk_) {
      rd_kafka_conf_destroy(conf);
      return invalid_config("cluster: cannot create the Kafka consumer for " + c_.brokers + ": " +
                            err);
    }
    rd_kafka_poll_set_consumer(rk_);
    VAS_RETURN_IF_ERROR(check_partitions());
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, c_.topic.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      return io_error("cluster: cannot subscribe to '" + c_.topic + "': " + rd_kafka_err2str(e));
    thread_ = std::thread([this] { poll_loop(); });
    return Status::ok();
  }

  void stop() {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::vector<int> assigned() const {
    std::lock_guard<std::mutex> lock(mu_);
    return assigned_;
  }

 private:
  // A topic with fewer partitions than channels would leave channels that no node ever runs.
  Status check_partitions() {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, c_.topic.c_str(), nullptr);
    const rd_kafka_resp_err_t e = rd_kafka_metadata(rk_, 0, t, &md, 5000);
    rd_kafka_topic_destroy(t);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // The brokers may come later; the group will assign what exists then.
      log_warn("cluster: no metadata for topic '" + c_.topic + "' from " + c_.brokers + " (" +
               rd_kafka_err2str(e) + "); joining the group anyway");
      return Status::ok();
    }
    int partitions = -1;
    std::string topic_err;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (c_.topic != md->topics[i].topic) continue;
      if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        topic_err = rd_kafka_err2str(md->topics[i].err);
      } else {
        partitions = md->topics[i].partition_cnt;
      }
    }
    rd_kafka_metadata_destroy(md);
    if (partitions < 0) {
      return not_found("cluster: topic '" + c_.topic + "' is not on " + c_.brokers +
                       (topic_err.empty() ? "" : " (" + topic_err + ")") + "; create it with " +
                       std::to_string(channels_) + " partitions, one per channel");
    }
    if (partitions < channels_) {
      return invalid_config("cluster: topic '" + c_.topic + "' has " + std::to_string(partitions) +
                            " partitions for " + std::to_string(channels_) +
                            " channels; channel i needs partition i, so add partitions");
    }
    return Status::ok();
  }

  void poll_loop() {
    while (!stop_) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
      if (m) rd_kafka_message_destroy(m);  // nothing is consumed: the assignment is the point
    }
    // Leave the group on this thread: close() runs the revoke callback and waits for it.
    const rd_kafka_resp_err_t e = rd_kafka_consumer_close(rk_);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      notice("error", std::string("leaving the group: ") + rd_kafka_err2str(e));
    // Whatever close() could not revoke (brokers gone) is ours to stop.
    std::vector<int> left;
    {
      std::lock_guard<std::mutex> lock(mu_);
      left.swap(assigned_);
    }
    if (!left.empty()) on_revoke_(left);
  }

  std::vector<int> partitions_of(const rd_kafka_topic_partition_list_t* parts) const {
    std::vector<int> out;
    for (int i = 0; parts && i < parts->cnt; ++i) {
      if (c_.topic == parts->elems[i].topic) out.push_back(parts->elems[i].partition);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t* parts) {
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    const std::vector<int> ps = partitions_of(parts);
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) {
        rd_kafka_error_t* err = rd_kafka_incremental_assign(rk, parts);
        if (err) rd_kafka_error_destroy(err);
      } else {
        rd_kafka_assign(rk, parts);
      }
      std::vector<int> take;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (int p : ps) {
          if (p >= channels_) continue;  // a partition without a channel: nothing to run
          if (std::find(assigned_.begin(), assigned_.end(), p) == assigned_.end()) {
            assigned_.push_back(p);
            take.push_back(p);
          }
        }
        std::sort(assigned_.begin(), assigned_.end());
      }
      if (!take.empty()) on_assign_(take);
      return;
    }
    // Revoked (or lost: the group went on without us): stop those channels first, so that two
    // nodes never run one channel for longer than the rebalance takes.
    std::vector<int> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int p : ps) {
        auto it = std::find(assigned_.begin(), assigned_.end(), p);
        if (it != assigned_.end()) {
          assigned_.erase(it);
          drop.push_back(p);
        }
      }
    }
    if (!drop.empty()) on_revoke_(drop);
    if (cooperative) {
      rd_kafka_error_t* err = rd_kafka_incremental_unassign(rk, parts);
      if (err) rd_kafka_error_destroy(err);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  void notice(const std::string& kind, const std::string& cause) {
    if (on_notice_) on_notice_(kind, cause);
  }

  const ClusterConfig c_;
  const int channels_;
  PartitionsFn on_assign_, on_revoke_;
  NoticeFn on_notice_;
  rd_kafka_t* rk_ = nullptr;
  std::thread thread_;
  std::mutex stop_mu_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<int> assigned_;
};

Result<std::unique_ptr<ClusterMember>> ClusterMember::start(const ClusterConfig& config,
                                                            const std::string& node_id,
                                                            int channels, PartitionsFn on_assign,
                                                            PartitionsFn on_revoke,
                                                            NoticeFn on_notice) {
  auto impl = std::make_unique<Impl>(config, channels, std::move(on_assign), std::move(on_revoke),
                                     std::move(on_notice));
  VAS_RETURN_IF_ERROR(impl->init(node_id));
  return std::unique_ptr<ClusterMember>(new ClusterMember(std::move(impl)));
}

void ClusterMember::stop() { impl_->stop(); }
std::vector<int> ClusterMember::assigned() const { return impl_->assigned(); }
bool cluster_available() { return true; }

#else  // !VASDK_WITH_RDKAFKA

class ClusterMember::Impl {
 public:
  void stop() {}
  std::vector<int> assigned() const { return {}; }
};

Result<std::unique_ptr<ClusterMember>> ClusterMember::start(const ClusterConfig&,
                                                            const std::string&, int, PartitionsFn,
                                                            PartitionsFn, NoticeFn) {
  return unsupported(
      "cluster: vasdk was built without librdkafka (apt-get install librdkafka-dev, rebuild)");
}
void ClusterMember::stop() {}
std::vector<int> ClusterMember::assigned() const { return {}; }
bool cluster_available() { return false; }

#endif

ClusterMember::ClusterMember(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterMember::~ClusterMember() = default;

}  // namespace vas
