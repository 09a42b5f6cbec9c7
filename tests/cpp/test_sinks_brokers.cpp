// Broker-backed sinks: MQTT against a real mosquitto started on a free 127.0.0.1 port
// (plain, killed and restarted mid-run, TLS with a throwaway CA) and Kafka against librdkafka's
// in-process mock cluster. A missing broker or library is a failure that says how to install it.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "sinks/backends.h"
#include "sinks/sink.h"
#include "sinks/sink_set.h"
#include "sinks_test_util.h"

#ifdef VASDK_WITH_RDKAFKA
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif

namespace vas {
namespace {

using json = nlohmann::json;
using vas_test::dropped;
using vas_test::Events;
using vas_test::file_mode;
using vas_test::msg;
using vas_test::read_lines;
using vas_test::TempDir;

// ---- MQTT against a real broker ----------------------------------------------------------

#ifdef VASDK_WITH_MOSQUITTO
#define VAS_REQUIRE_BROKER()                                               \
  do {                                                                     \
    if (vas_test::find_mosquitto().empty()) FAIL() << vas_test::kNoBroker; \
  } while (0)
#else
#define VAS_REQUIRE_BROKER()                                                                 \
  do {                                                                                       \
    FAIL() << "vasdk was built without libmosquitto; scripts/setup.sh installs it ("         \
              "apt-get install libmosquitto-dev mosquitto mosquitto-clients), then rebuild"; \
  } while (0)
#endif

json mqtt_config(int port, int qos, const std::string& extra_json = "{}") {
  json c = {{"type", "mqtt"},         {"port", port},    {"qos", qos},
            {"topic_prefix", "vt"},   {"outbox", 10000}, {"reconnect_initial_ms", 50},
            {"reconnect_max_ms", 200}};
  c.update(json::parse(extra_json));
  return c;
}

#ifdef VASDK_WITH_MOSQUITTO
// seq numbers per channel, in arrival order, from messages on vt/<channel>/<kind>.
std::map<std::string, std::vector<int>> by_channel(
    const std::vector<vas_test::Subscriber::Message>& ms) {
  std::map<std::string, std::vector<int>> out;
  for (const auto& m : ms) {
    const json j = json::parse(m.payload);
    EXPECT_EQ(m.topic,
              "vt/" + j["channel"].get<std::string>() + "/" + j["kind"].get<std::string>());
    out[j["channel"]].push_back(j["seq"].get<int>());
  }
  return out;
}
#endif

TEST(SinkMqtt, EveryMessageArrivesOnceInOrderPerChannel) {
  VAS_REQUIRE_BROKER();
#ifdef VASDK_WITH_MOSQUITTO
  TempDir dir;
  vas_test::Broker broker(dir.path());
  ASSERT_TRUE(broker.start()) << broker.log();
  for (int qos : {0, 1}) {
    SCOPED_TRACE("qos " + std::to_string(qos));
    vas_test::Subscriber sub;
    ASSERT_TRUE(sub.start(broker.port(), "vt/#"));
    auto set = SinkSet::create(json::array({mqtt_config(broker.port(), qos)}).dump());
    ASSERT_TRUE(set.is_ok()) << set.status().message();
    const int per_channel = 300;
    const std::vector<std::string> channels = {"cam1", "cam2", "door"};
    for (int i = 0; i < per_channel; ++i) {
      for (const auto& ch : channels) {
        SinkMessage m = msg(ch, i % 10 == 0 ? "rule" : "result", i);
        m.image.assign(10, 1);  // no best-shot store: never sent
        set.value()->publish(std::move(m));
      }
    }
    ASSERT_TRUE(set.value()->close(5000).is_ok());
    const SinkStats s = set.value()->stats()[0];
    const size_t total = channels.size() * per_channel;
    EXPECT_EQ(s.delivered, total);
    EXPECT_EQ(s.dropped, 0u);
    EXPECT_EQ(s.failed, 0u);
    EXPECT_EQ(s.redelivered, 0u);
    const auto got = sub.wait_for(total, 5000);
    ASSERT_EQ(got.size(), total);
    std::vector<int> expected(per_channel);
    for (int i = 0; i < per_channel; ++i) expected[i] = i;
    for (const auto& [ch, seqs] : by_channel(got)) EXPECT_EQ(seqs, expected) << ch;
    for (const auto& m : got) EXPECT_EQ(m.payload.find("image"), std::string::npos);
  }
#endif
}

TEST(SinkMqtt, BrokerRestartAtQos1LosesNothingBeyondStats) {
  VAS_REQUIRE_BROKER();
#ifdef VASDK_WITH_MOSQUITTO
  TempDir dir;
  vas_test::Broker broker(dir.path());
  // The subscriber's session is persistent and on disk before the crash, as in a deployment
  // that must not lose QoS 1 messages: the restarted broker holds what the sink sends for it
  // whether the sink or the subscriber reconnects first. (With a clean session, whatever the
  // sink flushed before the new subscriber had subscribed was accepted and dropped.)
  broker.keep_sessions();
  ASSERT_TRUE(broker.start()) << broker.log();
  const std::string sub_id = "vt-restart-sub";
  auto sub = std::make_unique<vas_test::Subscriber>();
  ASSERT_TRUE(sub->start(broker.port(), "vt/#", sub_id, false));
  ASSERT_TRUE(broker.save()) << broker.log();
  Events events;
  auto set = SinkSet::create(
      json::array({mqtt_config(broker.port(), 1,
                               R"({"reconnect_initial_ms": 500, "reconnect_max_ms": 500,
                                   "max_inflight": 20})")})
          .dump(),
      events.callback());
  ASSERT_TRUE(set.is_ok()) << set.status().message();

  // A producer publishes at about 2 kHz throughout; the broker is killed and restarted under it.
  std::atomic<bool> stop{false};
  std::atomic<int> published{0};
  std::thread producer([&] {
    for (int i = 0; !stop; ++i) {
      set.value()->publish(msg("cam1", "result", i));
      published = i + 1;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  std::vector<vas_test::Subscriber::Message> before = sub->wait_for(200, 5000);
  ASSERT_GE(before.size(), 200u);
  // The broker hangs first, so a full window of QoS 1 messages is in flight and never
  // acknowledged when it dies: those must be sent again after the restart.
  broker.freeze();
  for (int i = 0; i < 200 && set.value()->stats()[0].in_flight < 20; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(set.value()->stats()[0].in_flight, 20u);
  broker.stop(SIGKILL);
  EXPECT_NE(events.wait("sink_disconnected", 3000), "");
  // What the broker forwarded before it froze may still sit in the subscriber's socket or
  // loop on a busy machine: give it time to read all of it before it disconnects.
  before = sub->wait_for(1u << 30, 1500);
  sub->stop();
  ASSERT_TRUE(broker.start()) << broker.log();
  auto sub2 = std::make_unique<vas_test::Subscriber>();
  ASSERT_TRUE(sub2->start(broker.port(), "vt/#", sub_id, false));
  EXPECT_NE(events.wait("sink_reconnected", 5000), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  producer.join();
  ASSERT_TRUE(set.value()->close(5000).is_ok());
  const SinkStats s = set.value()->stats()[0];
  const int n = published;
  EXPECT_EQ(s.queued, static_cast<uint64_t>(n));
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.delivered, static_cast<uint64_t>(n));
  EXPECT_EQ(s.reconnects, 1u);

  // Every message reached a subscriber; QoS 1 may repeat the few that were in flight at the
  // kill (counted as redelivered), and the first arrivals stay in order.
  std::vector<vas_test::Subscriber::Message> all = before;
  const auto after = sub2->wait_for(static_cast<size_t>(n) - before.size(), 5000);
  all.insert(all.end(), after.begin(), after.end());
  std::set<int> seen;
  int last_first = -1, repeats = 0;
  const auto channels = by_channel(all);
  ASSERT_EQ(channels.size(), 1u);
  for (int seq : channels.at("cam1")) {
    if (!seen.insert(seq).second) {
      ++repeats;
      continue;
    }
    EXPECT_GT(seq, last_first);
    last_first = seq;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(n))
      << "lost " << n - static_cast<int>(seen.size()) << " of " << n << "; stats: dropped "
      << s.dropped << ", failed " << s.failed;
  EXPECT_LE(static_cast<uint64_t>(repeats), s.redelivered);
  EXPECT_GE(s.redelivered, 20u);
  std::printf("[ broker restart ] %d messages, %llu resent after the reconnect, %d repeated\n", n,
              static_cast<unsigned long long>(s.redelivered), repeats);
#endif
}

TEST(SinkMqtt, DeadBrokerNeverBlocksTheCaller) {
  VAS_REQUIRE_BROKER();
  const int port = vas_test::free_port();  // nothing listens there
  Events events;
  auto set = SinkSet::create(json::array({mqtt_config(port, 1, R"({"outbox": 100})")}).dump(),
                             events.callback());
  ASSERT_TRUE(set.is_ok()) << set.status().message();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) set.value()->publish(msg("cam1", "rule", i));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.5);
  const std::string cause = events.wait("sink_disconnected", 3000);
  EXPECT_NE(cause.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << cause;
  EXPECT_NE(cause.find("refused"), std::string::npos) << cause;
  const Status st = set.value()->close(100);
  EXPECT_EQ(st.code(), StatusCode::kTimeout);
  const SinkStats s = set.value()->stats()[0];
  EXPECT_EQ(dropped(s, "outbox_full"), 900u);
  EXPECT_EQ(dropped(s, "shutdown"), 100u);
  EXPECT_EQ(s.delivered, 0u);
}

#ifdef VASDK_WITH_MOSQUITTO
bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// A throwaway CA and a server certificate for 127.0.0.1, plus an unrelated CA, made now.
bool make_certs(const std::string& d) {
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1";
  return sh("cd " + d + " && openssl req -x509 " + key +
            " -keyout ca.key -out ca.crt -subj /CN=vasdk-test-ca") &&
         sh("cd " + d + " && openssl req " + key +
            " -keyout server.key -out server.csr -subj /CN=127.0.0.1") &&
         sh("cd " + d + " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf") &&
         sh("cd " + d +
            " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
            "-out server.crt -days 1 -extfile ext.cnf") &&
         sh("cd " + d + " && openssl req -x509 " + key +
            " -keyout other.key -out other.crt -subj /CN=other-ca");
}
#endif

TEST(SinkMqtt, TlsDeliversAndAWrongCaFailsClearly) {
  VAS_REQUIRE_BROKER();
#ifdef VASDK_WITH_MOSQUITTO
  TempDir dir;
  ASSERT_TRUE(make_certs(dir.path())) << "openssl failed (scripts/setup.sh installs it)";
  const int tls_port = vas_test::free_port();
  vas_test::Broker broker(dir.path(), "listener " + std::to_string(tls_port) +
                                          " 127.0.0.1\ncafile " + (dir / "ca.crt") + "\ncertfile " +
                                          (dir / "server.crt") + "\nkeyfile " +
                                          (dir / "server.key") + "\n");
  ASSERT_TRUE(broker.start(tls_port)) << broker.log();
  vas_test::Subscriber sub;  // on the plain listener
  ASSERT_TRUE(sub.start(broker.port(), "vt/#"));

  Events events;
  const std::string good = R"({"name": "good", "tls": {"ca_file": ")" + (dir / "ca.crt") + "\"}}";
  const std::string bad = R"({"name": "bad", "tls": {"ca_file": ")" + (dir / "other.crt") + "\"}}";
  auto set = SinkSet::create(
      json::array({mqtt_config(tls_port, 1, good), mqtt_config(tls_port, 1, bad)}).dump(),
      events.callback());
  ASSERT_TRUE(set.is_ok()) << set.status().message();
  for (int i = 0; i < 20; ++i) set.value()->publish(msg("cam1", "rule", i));
  const auto got = sub.wait_for(20, 5000);
  EXPECT_EQ(got.size(), 20u);  // from the good sink only
  std::string cause;
  for (int tries = 0; tries < 300 && cause.empty(); ++tries) {
    for (const auto& e : events.snapshot()) {
      if (e.sink == "bad" && e.kind == "sink_disconnected") cause = e.cause;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(cause.find("certificate verify failed"), std::string::npos) << cause;
  EXPECT_NE(cause.find("127.0.0.1:" + std::to_string(tls_port)), std::string::npos) << cause;
  for (const auto& e : events.snapshot()) EXPECT_NE(e.sink, "good") << e.kind << ": " << e.cause;
  (void)set.value()->close(200);
  const auto st = set.value()->stats();
  EXPECT_EQ(st[0].delivered, 20u);
  EXPECT_EQ(st[1].delivered, 0u);
  EXPECT_NE(st[1].last_error.find("certificate verify failed"), std::string::npos);
#endif
}

// ---- Kafka against librdkafka's in-process mock cluster ----------------------------------

#ifdef VASDK_WITH_RDKAFKA
// Reads every message of `topic` (all partitions, from the start) until `n` arrived or 10 s.
struct KafkaRecord {
  int partition;
  std::string key, value;
};
std::vector<KafkaRecord> consume_all(const std::string& bootstraps, const std::string& topic,
                                     int partitions, size_t n) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "vasdk-test", err, sizeof(err));
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  EXPECT_NE(c, nullptr) << err;
  std::vector<KafkaRecord> out;
  if (!c) return out;
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(c, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < n && std::chrono::steady_clock::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (!m) continue;
    if (!m->err) {
      out.push_back({m->partition, std::string(static_cast<const char*>(m->key), m->key_len),
                     std::string(static_cast<const char*>(m->payload), m->len)});
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return out;
}
#endif

TEST(SinkKafka, KeyedByChannelEveryMessageOnceInOrder) {
#ifndef VASDK_WITH_RDKAFKA
  FAIL() << "vasdk was built without librdkafka; apt-get install librdkafka-dev, then rebuild";
#else
  // The test owns the mock cluster (3 brokers, a 4-partition topic); the sink is an ordinary
  // client of its bootstrap addresses.
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  ASSERT_NE(owner, nullptr) << err;
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner, 3);
  ASSERT_NE(cluster, nullptr);
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster, "events", 4, 3), RD_KAFKA_RESP_ERR_NO_ERROR);
  const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);

  auto set = SinkSet::create(
      json::array({{{"type", "kafka"}, {"brokers", bootstraps}, {"topic", "events"}}}).dump());
  ASSERT_TRUE(set.is_ok()) << set.status().message();
  const std::vector<std::string> channels = {"cam1", "cam2", "door", "lobby"};
  const int per_channel = 200;
  for (int i = 0; i < per_channel; ++i) {
    for (const auto& ch : channels) set.value()->publish(msg(ch, "result", i));
  }
  ASSERT_TRUE(set.value()->close(10000).is_ok());
  const SinkStats s = set.value()->stats()[0];
  const size_t total = channels.size() * per_channel;
  EXPECT_EQ(s.delivered, total);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.dropped, 0u);

  const auto records = consume_all(bootstraps, "events", 4, total);
  EXPECT_EQ(records.size(), total);
  std::map<std::string, std::vector<int>> seqs;
  std::map<std::string, std::set<int>> partitions;
  for (const auto& r : records) {
    const json j = json::parse(r.value);
    EXPECT_EQ(r.key, j["channel"].get<std::string>());
    seqs[r.key].push_back(j["seq"].get<int>());
    partitions[r.key].insert(r.partition);
  }
  std::vector<int> expected(per_channel);
  for (int i = 0; i < per_channel; ++i) expected[i] = i;
  for (const auto& ch : channels) {
    EXPECT_EQ(seqs[ch], expected) << ch;
    EXPECT_EQ(partitions[ch].size(), 1u) << ch;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
#endif
}

}  // namespace
}  // namespace vas
