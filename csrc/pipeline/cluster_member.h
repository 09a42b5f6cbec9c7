// Scale-out across nodes through a Kafka consumer group. Every node holds the same list of
// channels; channel i is partition i of `topic`. Each node joins `group` and runs the channels
// whose partitions the group assigns to it; when a node dies or leaves, the group rebalances
// and the survivors take its partitions, and a node that joins takes its share. The group
// coordinator is the broker's: no coordinator of our own.
//
// Threading: one thread per member polls the consumer (rebalances only progress while every
// member polls, and rd_kafka_consumer_close() waits for its own rebalance, so each member
// needs its own polling thread). The assign and revoke callbacks run on that thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "sinks/tls.h"

namespace vas {

struct ClusterConfig {
  bool enabled = false;
  std::string brokers;  // bootstrap.servers
  std::string topic = "vasdk.channels";
  std::string group = "vasdk";
  // A node that stops heartbeating for this long is out of the group; its channels move.
  int session_timeout_ms = 6000;
  int heartbeat_interval_ms = 1000;
  // cooperative-sticky moves only the channels that must move; roundrobin and range stop and
  // restart every channel on every rebalance.
  std::string assignment = "cooperative-sticky";
  TlsConfig tls;
  std::map<std::string, std::string> properties;  // passed to librdkafka, override the above
};

class ClusterMember {
 public:
  using PartitionsFn = std::function<void(const std::vector<int>& partitions)>;
  // Status changes worth an event or a log line: "joined", "error" (with a cause).
  using NoticeFn = std::function<void(const std::string& kind, const std::string& cause)>;

  // Creates the consumer, checks that the topic has a partition per channel (when the brokers
  // answer within a few seconds), subscribes and starts polling. kUnsupported without
  // librdkafka.
  static Result<std::unique_ptr<ClusterMember>> start(const ClusterConfig& config,
                                                      const std::string& node_id, int channels,
                                                      PartitionsFn on_assign,
                                                      PartitionsFn on_revoke, NoticeFn on_notice);
  // Leaves the group (the revoke callback runs for what this node holds) and joins the thread.
  ~ClusterMember();
  void stop();
  std::vector<int> assigned() const;

  class Impl;

 private:
  explicit ClusterMember(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

bool cluster_available();

}  // namespace vas
