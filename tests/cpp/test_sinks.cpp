// Sinks: outbox behaviour, JSON lines rotation, the best-shot store, config errors and the
// pipeline's message conversion. Broker-backed sinks: test_sinks_brokers.cpp.
#include <gtest/gtest.h>
#include <sys/time.h>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>

#include "pipeline/sink_messages.h"
#include "sinks/backends.h"
#include "sinks/sink.h"
#include "sinks/sink_set.h"
#include "sinks_test_util.h"

namespace vas {
namespace {

using json = nlohmann::json;
using vas_test::dropped;
using vas_test::Events;
using vas_test::file_mode;
using vas_test::msg;
using vas_test::read_lines;
using vas_test::TempDir;

class TestBackend : public SinkBackend {
 public:
  int delay_ms = 0;
  int fail_connects = 0;
  int lose_at = -1;  // the send that reports a lost connection (once)
  std::vector<std::chrono::steady_clock::time_point>* attempts = nullptr;
  std::vector<int>* received = nullptr;  // seq of every accepted message

  const char* type() const override { return "test"; }
  Status connect(const std::atomic<bool>&) override {
    if (attempts) attempts->push_back(std::chrono::steady_clock::now());
    if (fail_connects > 0) {
      --fail_connects;
      return io_error("test broker down");
    }
    return Status::ok();
  }
  void disconnect() override {}
  SendResult send(const SinkMessage& m, std::string* error) override {
    if (delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (sends_++ == lose_at) {
      *error = "test connection reset";
      return SendResult::kConnectionLost;
    }
    if (received) received->push_back(json::parse(m.json)["seq"].get<int>());
    ++delivered_;
    return SendResult::kAccepted;
  }
  uint64_t take_delivered() override { return std::exchange(delivered_, 0); }

 private:
  int sends_ = 0;
  uint64_t delivered_ = 0;
};

TEST(SinkOutboxThread, PublishNeverBlocksAndCountsDrops) {
  auto backend = std::make_unique<TestBackend>();
  backend->delay_ms = 20;  // a slow destination: 50 messages per second
  OutboxConfig oc;
  oc.capacity = 4;
  Sink sink("slow", std::move(backend), oc, {});
  const int n = 200;
  double worst_ms = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)sink.publish(msg("cam", "result", i));
    worst_ms = std::max(
        worst_ms,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  // 200 publishes against a 20 ms/message sink with room for 4: publishes that waited for the
  // sink would take about 3.9 s in all and 20 ms each. The bounds leave room for a loaded
  // machine (and ThreadSanitizer), not for waiting.
  EXPECT_LT(total_ms, 1500.0);
  EXPECT_LT(worst_ms, 200.0);
  std::printf("[ outbox ] 200 publishes: %.2f ms in all, worst %.3f ms\n", total_ms, worst_ms);
  SinkStats s = sink.stats();
  EXPECT_EQ(s.queued + dropped(s, "outbox_full"), static_cast<uint64_t>(n));
  EXPECT_GE(dropped(s, "outbox_full"), static_cast<uint64_t>(n - 10));
  EXPECT_LE(s.outbox_depth, 4u);
  const Status st = sink.close(2000);
  EXPECT_TRUE(st.is_ok()) << st.message();
  s = sink.stats();
  // Nothing silently lost: every accepted message was delivered.
  EXPECT_EQ(s.delivered, s.queued);
  EXPECT_EQ(s.delivered + s.dropped, static_cast<uint64_t>(n));
  // After close, publish() still returns at once and counts the message.
  EXPECT_FALSE(sink.publish(msg("cam", "result", n)));
  EXPECT_EQ(dropped(sink.stats(), "shutdown"), 1u);
}

TEST(SinkOutboxThread, CloseDeadlineCountsWhatIsLeft) {
  auto backend = std::make_unique<TestBackend>();
  backend->delay_ms = 50;
  OutboxConfig oc;
  oc.capacity = 100;
  Sink sink("slow", std::move(backend), oc, {});
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(sink.publish(msg("cam", "result", i)));
  const auto t0 = std::chrono::steady_clock::now();
  const Status st = sink.close(200);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 600);
  EXPECT_EQ(st.code(), StatusCode::kTimeout);
  EXPECT_NE(st.message().find("not delivered by the close deadline"), std::string::npos);
  const SinkStats s = sink.stats();
  EXPECT_GT(dropped(s, "shutdown"), 0u);
  EXPECT_EQ(s.delivered + dropped(s, "shutdown"), 50u);
}

TEST(SinkOutboxThread, ReconnectsWithExponentialBackoffAndReportsEvents) {
  std::vector<std::chrono::steady_clock::time_point> attempts;
  std::vector<int> received;
  auto backend = std::make_unique<TestBackend>();
  backend->fail_connects = 4;
  backend->lose_at = 3;  // the connection drops once, at the 4th send
  backend->attempts = &attempts;
  backend->received = &received;
  OutboxConfig oc;
  oc.reconnect_initial_ms = 20;
  oc.reconnect_max_ms = 1000;
  Events events;
  Sink sink("flaky", std::move(backend), oc, events.callback());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(sink.publish(msg("cam", "result", i)));
  EXPECT_EQ(events.wait("sink_disconnected", 2000), "test broker down");
  EXPECT_NE(events.wait("sink_reconnected", 3000), "");
  EXPECT_EQ(events.wait("sink_disconnected", 3000, 2), "test connection reset");
  EXPECT_NE(events.wait("sink_reconnected", 3000, 2), "");
  ASSERT_TRUE(sink.close(2000).is_ok());
  const SinkStats s = sink.stats();
  EXPECT_EQ(s.connect_failures, 4u);
  EXPECT_EQ(s.reconnects, 2u);
  EXPECT_EQ(s.delivered, 10u);
  // The message whose send failed is retried first: nothing lost, order kept.
  std::vector<int> expected(10);
  for (int i = 0; i < 10; ++i) expected[i] = i;
  EXPECT_EQ(received, expected);
  // Waits between the failed attempts grow (x2 per failure, +-20% jitter).
  ASSERT_GE(attempts.size(), 5u);
  double prev = 0;
  for (size_t i = 1; i < 5; ++i) {
    const double gap =
        std::chrono::duration<double, std::milli>(attempts[i] - attempts[i - 1]).count();
    EXPECT_GT(gap, prev) << "attempt " << i;
    prev = gap;
  }
  EXPECT_GT(prev, 100.0);  // the 4th wait is about 160 ms
}

TEST(SinkOutboxThread, CloseFromItsOwnCallbackIsRefused) {
  auto backend = std::make_unique<TestBackend>();
  backend->fail_connects = 1;
  std::promise<Status> from_callback;
  Sink* self = nullptr;
  std::atomic<bool> ready{false};
  Sink sink("self", std::move(backend), OutboxConfig{}, [&](const SinkEvent& e) {
    while (!ready) std::this_thread::yield();
    if (e.kind == "sink_disconnected") from_callback.set_value(self->close(100));
  });
  self = &sink;
  ready = true;
  auto f = from_callback.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const Status st = f.get();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("own thread"), std::string::npos);
  EXPECT_TRUE(sink.close(1000).is_ok());
}

TEST(SinkJsonl, RotatesBySizeAndKeepsEveryLineInOrder) {
  TempDir dir;
  const std::string path = dir / "events.jsonl";
  auto set = SinkSet::create(
      json::array({{{"type", "jsonl"}, {"path", path}, {"max_bytes", 300}, {"max_files", 3}}})
          .dump());
  ASSERT_TRUE(set.is_ok()) << set.status().message();
  const int n = 40;
  for (int i = 0; i < n; ++i) set.value()->publish(msg("cam1", "result", i, "xxxxxxxxxx"));
  ASSERT_TRUE(set.value()->close(2000).is_ok());
  const SinkStats s = set.value()->stats()[0];
  EXPECT_EQ(s.delivered, static_cast<uint64_t>(n));
  EXPECT_EQ(s.name, "jsonl");

  // Three files in all; the oldest lines went with the deleted ones.
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
  std::vector<int> seqs;
  for (const std::string& f : {path + ".2", path + ".1", path}) {
    ASSERT_TRUE(std::filesystem::exists(f)) << f;
    EXPECT_EQ(file_mode(f), 0600) << f;
    EXPECT_LE(std::filesystem::file_size(f), 300u) << f;
    for (const std::string& line : read_lines(f)) {
      const json j = json::parse(line);
      EXPECT_EQ(j["channel"], "cam1");
      seqs.push_back(j["seq"].get<int>());
    }
  }
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.back(), n - 1);
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
  EXPECT_GE(seqs.size(), 6u);
}

TEST(SinkJsonl, AppendsToAnExistingFileAndMakesItPrivate) {
  TempDir dir;
  const std::string path = dir / "events.jsonl";
  { std::ofstream(path) << "{\"old\":1}\n"; }
  chmod(path.c_str(), 0644);
  auto set = SinkSet::create(json::array({{{"type", "jsonl"}, {"path", path}}}).dump());
  ASSERT_TRUE(set.is_ok()) << set.status().message();
  set.value()->publish(msg("cam1", "rule", 0));
  ASSERT_TRUE(set.value()->close(2000).is_ok());
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"old\":1}");
  EXPECT_EQ(json::parse(lines[1])["kind"], "rule");
  EXPECT_EQ(file_mode(path), 0600);
}

TEST(SinkJsonl, UnwritablePathReportsTheCause) {
  TempDir dir;
  const std::string path = dir / "missing/events.jsonl";
  Events events;
  auto set = SinkSet::create(
      json::array({{{"type", "jsonl"}, {"path", path}, {"reconnect_initial_ms", 10}}}).dump(),
      events.callback());
  ASSERT_TRUE(set.is_ok());
  set.value()->publish(msg("cam1", "rule", 0));
  const std::string cause = events.wait("sink_disconnected", 2000);
  EXPECT_NE(cause.find(path), std::string::npos) << cause;
  EXPECT_NE(cause.find("No such file or directory"), std::string::npos) << cause;
  const Status st = set.value()->close(50);
  EXPECT_EQ(st.code(), StatusCode::kTimeout);
  const SinkStats s = set.value()->stats()[0];
  EXPECT_EQ(dropped(s, "shutdown"), 1u);
  EXPECT_GE(s.connect_failures, 1u);
  EXPECT_NE(s.last_error.find(path), std::string::npos);
}

TEST(SinkBestShot, StoresPrivateFilesWithRetentionAndClaimCheck) {
  TempDir dir;
  const std::string shots = dir / "shots";
  const std::string log = dir / "events.jsonl";
  // A stale file from an earlier run, older than max_age_s: deleted at start.
  std::filesystem::create_directories(shots + "/cam1");
  const std::string stale = shots + "/cam1/1-1.jpg";
  { std::ofstream(stale) << "old"; }
  const timeval old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimes(stale.c_str(), old_times), 0);

  auto set = SinkSet::create(
      json::array({{{"type", "best_shot"}, {"dir", shots}, {"max_count", 3}, {"max_age_s", 3600}},
                   {{"type", "jsonl"}, {"path", log}}})
          .dump());
  ASSERT_TRUE(set.is_ok()) << set.status().message();
  for (int i = 0; i < 5; ++i) {
    SinkMessage m = msg("cam/1", "best_shot", i);  // '/' must not make a subfolder
    m.image.assign(100 + i, static_cast<uint8_t>(i));
    set.value()->publish(std::move(m));
  }
  set.value()->publish(msg("cam/1", "rule", 99));  // no image: straight to the file sink
  ASSERT_TRUE(set.value()->close(3000).is_ok());

  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_EQ(file_mode(shots), 0700);
  EXPECT_EQ(file_mode(shots + "/cam_1"), 0700);
  std::vector<std::string> paths;
  int rules = 0;
  for (const std::string& line : read_lines(log)) {
    const json j = json::parse(line);
    if (j["kind"] == "rule") {
      ++rules;
      EXPECT_FALSE(j.contains("image_path"));
      continue;
    }
    ASSERT_TRUE(j.contains("image_path")) << line;
    EXPECT_EQ(j["image_bytes"].get<int>(), 100 + j["seq"].get<int>());
    paths.push_back(j["image_path"]);
  }
  EXPECT_EQ(rules, 1);
  ASSERT_EQ(paths.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const std::string& p = paths[static_cast<size_t>(i)];
    EXPECT_EQ(p.rfind(shots + "/cam_1/", 0), 0u) << p;
    if (i < 2) {
      EXPECT_FALSE(std::filesystem::exists(p)) << p << " should have been deleted (max_count 3)";
      continue;
    }
    ASSERT_TRUE(std::filesystem::exists(p)) << p;
    EXPECT_EQ(file_mode(p), 0600) << p;
    EXPECT_EQ(std::filesystem::file_size(p), static_cast<uintmax_t>(100 + i));
  }
  const SinkStats store = set.value()->stats()[0];
  EXPECT_EQ(store.type, "best_shot");
  EXPECT_EQ(store.delivered, 5u);
  EXPECT_EQ(set.value()->stats()[1].delivered, 6u);
}

TEST(SinkBestShot, ByteLimitDeletesOldest) {
  TempDir dir;
  auto set = SinkSet::create(
      json::array(
          {{{"type", "best_shot"}, {"dir", dir / "s"}, {"max_count", 0}, {"max_bytes", 250}}})
          .dump());
  ASSERT_TRUE(set.is_ok()) << set.status().message();
  for (int i = 0; i < 4; ++i) {
    SinkMessage m = msg("cam1", "best_shot", i);
    m.image.assign(100, 0xFF);
    set.value()->publish(std::move(m));
  }
  ASSERT_TRUE(set.value()->close(2000).is_ok());
  size_t files = 0, bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "s/cam1")) {
    ++files;
    bytes += std::filesystem::file_size(e.path());
  }
  EXPECT_EQ(files, 2u);
  EXPECT_LE(bytes, 250u);
}

TEST(SinkBestShot, UnwritableFolderStillForwardsTheEvent) {
  TempDir dir;
  { std::ofstream(dir / "file") << "x"; }
  const std::string log = dir / "events.jsonl";
  auto set = SinkSet::create(json::array({{{"type", "best_shot"}, {"dir", dir / "file/shots"}},
                                          {{"type", "jsonl"}, {"path", log}}})
                                 .dump());
  ASSERT_TRUE(set.is_ok()) << set.status().message();
  SinkMessage m = msg("cam1", "best_shot", 0);
  m.image.assign(10, 1);
  set.value()->publish(std::move(m));
  ASSERT_TRUE(set.value()->close(2000).is_ok());
  const auto lines = read_lines(log);
  ASSERT_EQ(lines.size(), 1u);
  const json j = json::parse(lines[0]);
  EXPECT_FALSE(j.contains("image_path"));
  EXPECT_NE(j["image_error"].get<std::string>().find(dir / "file"), std::string::npos) << j;
  const SinkStats store = set.value()->stats()[0];
  EXPECT_EQ(store.failed, 1u);
  EXPECT_EQ(store.delivered, 0u);
}

TEST(SinkSet, ConfigErrorsNameThePath) {
  const auto err = [](const std::string& text) {
    auto r = SinkSet::create(text);
    EXPECT_FALSE(r.is_ok()) << text;
    return r.is_ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(err(R"([{"type": "mqtt", "qoss": 1}])").find("sinks[0].qoss: unknown field"),
            std::string::npos);
  EXPECT_NE(err(R"([{"type": "jsonl", "path": "/tmp/x"}, {"type": "jsonl"}])")
                .find("sinks[1].path: missing"),
            std::string::npos);
  EXPECT_NE(err(R"([{"type": "kafkaa"}])").find("sinks[0].type"), std::string::npos);
  EXPECT_NE(err(R"([{"type": "kafka", "brokers": "b", "properties": {"acks": 1}}])")
                .find("sinks[0].properties.acks: expected a string"),
            std::string::npos);
  EXPECT_NE(err(R"([{"type": "kafka"}])").find("sinks[0].brokers: missing"), std::string::npos);
  EXPECT_NE(err(R"([{"type": "mqtt", "qos": 2}])").find("sinks[0].qos"), std::string::npos);
  EXPECT_NE(err(R"([{"type": "mqtt", "tls": {"ca_file": "a", "cert_file": "c"}}])")
                .find("sinks[0].tls.key_file"),
            std::string::npos);
  EXPECT_NE(err(R"([{"type": "mqtt", "tls": {"cafile": "a"}}])").find("sinks[0].tls.cafile"),
            std::string::npos);
  EXPECT_NE(err(R"([{"type": "best_shot", "dir": "a"}, {"type": "best_shot", "dir": "b"}])")
                .find("at most one"),
            std::string::npos);
  EXPECT_NE(err(R"({"type": "jsonl"})").find("expected a list"), std::string::npos);
  EXPECT_NE(err(R"([{"type": "jsonl", "path": "a", "name": "x"},
                    {"type": "jsonl", "path": "b", "name": "x"}])")
                .find("sinks[1].name"),
            std::string::npos);
  EXPECT_NE(err("[{").find("not valid JSON"), std::string::npos);
  auto empty = SinkSet::create("[]");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty.value()->size(), 0u);
}

TEST(SinkMessages, FromPipelineResultsAndEvents) {
  FrameResult r;
  r.channel = "cam1";
  r.frame = 7;
  r.ts_us = 1234;
  r.detected = true;
  ObjectResult o;
  o.track_id = 3;
  o.class_id = 0;
  o.score = 0.87654f;
  o.box[0] = 10.123f;
  o.box[2] = 20.5f;
  o.num_landmarks = 1;
  o.landmarks[0] = 1.5f;
  o.landmarks[1] = 2.5f;
  r.objects.push_back(o);
  const SinkMessage m = to_sink_message(r, "node-a", 1700000000123456);
  EXPECT_EQ(m.kind, "result");
  EXPECT_EQ(m.ts_us, 1234);
  const json j = json::parse(m.json);
  EXPECT_EQ(j["node_id"], "node-a");
  EXPECT_EQ(j["wall_us"], 1700000000123456);
  EXPECT_EQ(j["channel"], r.channel);
  EXPECT_EQ(j["frame"], 7);
  EXPECT_EQ(j["objects"][0]["track_id"], 3);
  EXPECT_NEAR(j["objects"][0]["score"].get<double>(), 0.8765, 1e-9);
  EXPECT_NEAR(j["objects"][0]["box"][0].get<double>(), 10.12, 1e-9);
  EXPECT_EQ(j["objects"][0]["landmarks"], json::parse("[[1.5, 2.5]]"));
  EXPECT_FALSE(j["objects"][0].contains("parent_track_id"));

  PipelineEvent e;
  e.channel = "cam1";
  e.kind = "best_shot";
  e.subkind = "track_ended";
  e.track_id = 3;
  e.best_shot_id = 9;
  e.quality = 0.5f;
  e.jpeg = {0xFF, 0xD8, 0xFF};
  e.wall_us = 1700000000999999;
  const SinkMessage b = to_sink_message(e, "node-b");
  EXPECT_EQ(b.kind, "best_shot");
  EXPECT_EQ(b.image, e.jpeg);
  const json k = json::parse(b.json);
  EXPECT_EQ(k["subkind"], "track_ended");
  EXPECT_EQ(k["node_id"], "node-b");
  EXPECT_EQ(k["channel"], "cam1");
  EXPECT_EQ(k["wall_us"], 1700000000999999);
  EXPECT_EQ(k["best_shot_id"], 9);
  EXPECT_FALSE(k.contains("rule_id"));
}

TEST(SinkSet, BrokerTypesUnsupportedOnlyWithoutTheirLibraries) {
  for (const char* cfg :
       {R"([{"type": "mqtt", "port": 1}])", R"([{"type": "kafka", "brokers": "127.0.0.1:1"}])"}) {
    auto set = SinkSet::create(cfg);
    const bool have =
        std::string(cfg).find("mqtt") != std::string::npos ? mqtt_available() : kafka_available();
    if (have) {
      EXPECT_TRUE(set.is_ok()) << cfg << ": " << set.status().message();
    } else {
      ASSERT_FALSE(set.is_ok()) << cfg;
      EXPECT_EQ(set.status().code(), StatusCode::kUnsupported);
      EXPECT_NE(set.status().message().find("lib"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace vas

namespace vas {
namespace {

// Kafka over TLS (the sink and the cluster membership share these): the properties librdkafka
// gets, and a CA file that cannot be read named before librdkafka's own vaguer message.
TEST(KafkaTls, PropertiesAndUnreadableFiles) {
  TlsConfig off;
  EXPECT_TRUE(kafka_tls_properties(off).empty());
  TlsConfig t;
  t.enabled = true;
  t.ca_file = "/etc/ssl/ca.pem";
  t.cert_file = "/etc/ssl/client.pem";
  t.key_file = "/etc/ssl/client.key";
  auto p = kafka_tls_properties(t);
  EXPECT_EQ(p["security.protocol"], "ssl");
  EXPECT_EQ(p["ssl.ca.location"], "/etc/ssl/ca.pem");
  EXPECT_EQ(p["ssl.certificate.location"], "/etc/ssl/client.pem");
  EXPECT_EQ(p["ssl.key.location"], "/etc/ssl/client.key");
  EXPECT_EQ(p["enable.ssl.certificate.verification"], "true") << "verification on by default";
  EXPECT_EQ(p["ssl.endpoint.identification.algorithm"], "https");
  t.verify = false;
  EXPECT_EQ(kafka_tls_properties(t)["enable.ssl.certificate.verification"], "false");

  TlsConfig missing;
  missing.enabled = true;
  missing.ca_file = "/nonexistent/ca.pem";
  const Status s = check_tls_files(missing);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("tls.ca_file"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("/nonexistent/ca.pem"), std::string::npos) << s.message();

  auto set = SinkSet::create(R"([{"type": "kafka", "brokers": "127.0.0.1:1",
      "tls": {"cert_file": "c.pem"}}])");
  ASSERT_FALSE(set.is_ok());
  EXPECT_NE(set.status().message().find("sinks[0].tls.key_file"), std::string::npos)
      << set.status().message();
}

}  // namespace
}  // namespace vas
