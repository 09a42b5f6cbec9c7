// Scale-out through a Kafka consumer group, in one process: two pipelines share 4 pushed
// channels through librdkafka's in-process mock cluster. Not under ThreadSanitizer: librdkafka
// starts its threads with C11 thrd_create, which TSan does not intercept, so the first malloc
// on such a thread crashes inside TSan's allocator (its own threads, not ours). ASan and UBSan
// run it. Each channel must run on exactly one of them;
// when one pipeline stops (leaving the group), the other takes all 4. The multi-process test
// with SIGKILL and a joining third node is tests/python/test_cluster.py.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/pipeline.h"
#include "test_util.h"

#ifdef VASDK_WITH_RDKAFKA
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif

namespace vas {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

#ifdef VASDK_WITH_RDKAFKA

// Which channels a node runs, from its own assigned/revoked events.
struct Node {
  std::mutex mu;
  std::set<std::string> running;
  std::vector<std::string> log;
  std::unique_ptr<Pipeline> p;

  void attach() {
    ASSERT_TRUE(p->set_event_callback([this](const PipelineEvent& e) {
                   if (e.kind != "cluster") return;
                   std::lock_guard<std::mutex> lock(mu);
                   log.push_back(e.channel + " " + e.subkind);
                   if (e.subkind == "assigned") running.insert(e.channel);
                   if (e.subkind == "revoked") running.erase(e.channel);
                 }).is_ok());
  }
  std::set<std::string> channels() {
    std::lock_guard<std::mutex> lock(mu);
    return running;
  }
};

std::string node_config(const std::string& node, const std::string& brokers) {
  std::string channels;
  for (int i = 0; i < 4; ++i) {
    if (i) channels += ",";
    channels += R"({"id": "cam)" + std::to_string(i) + R"(", "push": true})";
  }
  return R"({"models": {"detector": {"model": ")" + testing::asset("yolov3-tiny.onnx") +
         R"(", "options": {"input_width": 128, "input_height": 96}}},
    "inference": {"threads": 1}, "node_id": ")" +
         node + R"(",
    "cluster": {"brokers": ")" +
         brokers +
         R"(", "topic": "channels", "group": "g", "session_timeout_ms": 3000,
                "heartbeat_interval_ms": 200},
    "channels": [)" +
         channels + "]}";
}

bool wait_for(const std::function<bool()>& cond, std::chrono::seconds budget) {
  const auto deadline = Clock::now() + budget;
  while (!cond()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

TEST(PipelineCluster, EachChannelOnOneNodeAndTakenOverOnLeave) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  ASSERT_NE(owner, nullptr) << err;
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner, 1);
  ASSERT_NE(cluster, nullptr);
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster, "channels", 4, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const std::string brokers = rd_kafka_mock_cluster_bootstraps(cluster);
  {
    Node a, b;
    for (auto* n : {&a, &b}) {
      auto p = Pipeline::create(node_config(n == &a ? "a" : "b", brokers));
      ASSERT_TRUE(p.is_ok()) << p.status().message();
      n->p = std::move(p).value();
      n->attach();
    }
    ASSERT_TRUE(a.p->start().is_ok());
    ASSERT_TRUE(wait_for([&] { return a.channels().size() == 4; }, 30s)) << "a alone runs all";
    ASSERT_TRUE(b.p->start().is_ok());
    auto split = [&] {
      auto x = a.channels(), y = b.channels();
      if (x.size() + y.size() != 4 || x.empty() || y.empty()) return false;
      for (const auto& c : x) {
        if (y.count(c)) return false;
      }
      return true;
    };
    ASSERT_TRUE(wait_for(split, 30s)) << a.channels().size() << " + " << b.channels().size();
    // The pipelines agree with the events: a channel runs where it was assigned.
    for (auto* n : {&a, &b}) {
      std::set<std::string> ids;
      for (const ChannelStats& c : n->p->stats().channels) ids.insert(c.id);
      EXPECT_EQ(ids, n->channels());
    }
    // b leaves the group cleanly (stop): a takes its channels back without waiting for the
    // session timeout.
    const auto left = Clock::now();
    ASSERT_TRUE(b.p->stop(false).is_ok());
    EXPECT_TRUE(b.channels().empty()) << "stop gives every channel back";
    EXPECT_TRUE(b.p->stats().channels.empty());
    ASSERT_TRUE(wait_for([&] { return a.channels().size() == 4; }, 20s));
    const double s = std::chrono::duration<double>(Clock::now() - left).count();
    EXPECT_LT(s, 3.0) << "a clean leave must not wait for the session timeout";
    std::printf("takeover after a clean leave: %.2f s\n", s);
    b.p.reset();
    a.p.reset();  // destroy while assigned: leaves the group from the destructor
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
}

#else

TEST(PipelineCluster, EachChannelOnOneNodeAndTakenOverOnLeave) {
  FAIL() << "vasdk was built without librdkafka; apt-get install librdkafka-dev, then rebuild";
}

#endif

}  // namespace
}  // namespace vas
