// A camera's faults seen through the whole pipeline: a real RTSP server (scripts/rtsp_server.py,
// started here on 127.0.0.1 and stopped by PID) is killed and restarted, then frozen with SIGSTOP
// and thawed, while two file channels paced at their real 10 fps share the detector with it.
// The camera must come back each time, and the other channels must keep their rate within 10%.
// Runs under ThreadSanitizer too (file name test_pipeline*).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/pipeline.h"
#include "rtsp_server_util.h"
#include "test_util.h"

namespace vas {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using testing::asset;
using testing::RtspServer;

// Results and source events as they arrive, with their arrival time.
struct Recorder {
  std::mutex mu;
  std::map<std::string, std::vector<Clock::time_point>> results;
  std::map<std::string, int64_t> last_ts;
  std::vector<std::string> backwards;  // channels whose ts_us went back
  struct Ev {
    std::string channel, subkind, message;
    Clock::time_point at;
  };
  std::vector<Ev> events;
  // Tracks a source gap ended, per channel, and any of them seen again afterwards (events and
  // results of a channel come from one thread, in order).
  std::map<std::string, std::set<int64_t>> gap_ended;
  std::vector<int64_t> resurrected;

  void attach(Pipeline& p) {
    ASSERT_TRUE(p.set_result_callback([this](const FrameResult& r) {
                   std::lock_guard<std::mutex> lock(mu);
                   for (const ObjectResult& o : r.objects) {
                     if (gap_ended[r.channel].count(o.track_id)) resurrected.push_back(o.track_id);
                   }
                   results[r.channel].push_back(Clock::now());
                   auto it = last_ts.find(r.channel);
                   if (it != last_ts.end() && r.ts_us < it->second) backwards.push_back(r.channel);
                   last_ts[r.channel] = r.ts_us;
                 }).is_ok());
    ASSERT_TRUE(p.set_event_callback([this](const PipelineEvent& e) {
                   if (e.kind == "track_end" && e.subkind == "source_gap") {
                     std::lock_guard<std::mutex> lock(mu);
                     gap_ended[e.channel].insert(e.track_id);
                   }
                   if (e.kind != "source") return;
                   std::lock_guard<std::mutex> lock(mu);
                   events.push_back({e.channel, e.subkind, e.message, Clock::now()});
                 }).is_ok());
  }
  size_t count(const std::string& ch) {
    std::lock_guard<std::mutex> lock(mu);
    return results[ch].size();
  }
  double fps(const std::string& ch, Clock::time_point a, Clock::time_point b) {
    std::lock_guard<std::mutex> lock(mu);
    const auto& v = results[ch];
    const auto n = std::count_if(v.begin(), v.end(), [&](auto t) { return t >= a && t < b; });
    return static_cast<double>(n) / std::chrono::duration<double>(b - a).count();
  }
  // Index of the first `subkind` event of `ch` at or after `from`, waiting up to `budget`.
  int wait_event(const std::string& ch, const std::string& subkind, size_t from,
                 std::chrono::milliseconds budget) {
    const auto deadline = Clock::now() + budget;
    do {
      {
        std::lock_guard<std::mutex> lock(mu);
        for (size_t i = from; i < events.size(); ++i) {
          if (events[i].channel == ch && events[i].subkind == subkind) return static_cast<int>(i);
        }
      }
      std::this_thread::sleep_for(20ms);
    } while (Clock::now() < deadline);
    return -1;
  }
  Ev event(int i) {
    std::lock_guard<std::mutex> lock(mu);
    return events[static_cast<size_t>(i)];
  }
  // Milliseconds from `t` to the first result of `ch` at or after it, waiting up to `budget`;
  // -1 when none came.
  double first_result_after(const std::string& ch, Clock::time_point t,
                            std::chrono::milliseconds budget) {
    const auto deadline = t + budget;
    do {
      {
        std::lock_guard<std::mutex> lock(mu);
        for (Clock::time_point r : results[ch]) {
          if (r >= t) return std::chrono::duration<double, std::milli>(r - t).count();
        }
      }
      std::this_thread::sleep_for(5ms);
    } while (Clock::now() < deadline);
    return -1;
  }
  size_t num_events() {
    std::lock_guard<std::mutex> lock(mu);
    return events.size();
  }
  std::string dump() {
    std::lock_guard<std::mutex> lock(mu);
    std::string s;
    for (const Ev& e : events) s += e.channel + " " + e.subkind + ": " + e.message + "\n";
    return s;
  }
};

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds budget) {
  const auto deadline = Clock::now() + budget;
  while (!cond()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class PipelineRtspTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vasdk_test_pipe_rtsp_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(PipelineRtspTest, CameraFaultsLeaveOtherChannelsAtFullRate) {
  RtspServer server(dir_ / "server.log");
  std::string error;
  ASSERT_TRUE(server.start(0, &error)) << error;
  const int port = server.port();
  // Short timeouts, so that a frozen server is noticed within seconds; the reconnect backoff is
  // the default one, which must bring a camera back within 2 s of its server. The files are
  // paced at their own 10 fps: their rate is what the fault must not disturb.
  const std::string file = R"({"url": ")" + asset("vtest.avi") + R"(", "loop": true,
      "realtime": true})";
  const std::string cfg = R"({"models": {"detector": {"model": ")" + asset("yolov3-tiny.onnx") +
                          R"(", "options": {"input_width": 256, "input_height": 192}}},
    "inference": {"max_batch": 4, "max_wait_ms": 20, "threads": 1},
    "analytics_threads": 2,
    "channels": [
      {"id": "cam", "source": {"url": ")" +
                          server.url() + R"(", "open_timeout_ms": 1000, "read_timeout_ms": 1000}},
      {"id": "f1", "source": )" +
                          file +
                          R"(},
      {"id": "f2", "source": )" +
                          file + R"(}]})";
  auto created = Pipeline::create(cfg);
  ASSERT_TRUE(created.is_ok()) << created.status().message();
  Pipeline& p = *created.value();
  Recorder rec;
  rec.attach(p);
  ASSERT_TRUE(p.start().is_ok());
  // Past the start-up (model warm-up, first connection): every channel delivering.
  ASSERT_TRUE(wait_for(
      [&] { return rec.count("cam") >= 20 && rec.count("f1") >= 20 && rec.count("f2") >= 20; },
      60s))
      << rec.dump();
  std::this_thread::sleep_for(1s);

  // Baseline: every camera healthy.
  auto files_dropped = [&] {  // the paced files' drops so far
    uint64_t n = 0;
    for (const ChannelStats& c : p.stats().channels) n += c.id == "cam" ? 0 : c.dropped;
    return n;
  };
  const uint64_t dropped_a = files_dropped();
  const auto base_a = Clock::now();
  std::this_thread::sleep_for(3s);
  const auto base_b = Clock::now();
  // The machine keeps up when the paced files run at their 10 fps and nothing is dropped.
  // A loaded machine (or a sanitizer) cannot: every channel drops by its queue policy and the
  // rates follow the load. Then only a stall is checked below, and the first result after a
  // reconnect waits for a busy detector.
  const bool keeps_up = files_dropped() == dropped_a && rec.fps("f1", base_a, base_b) >= 9.5 &&
                        rec.fps("f2", base_a, base_b) >= 9.5;

  // Fault 1: the server dies, stays away for 3 s, and comes back on the same port. (With the
  // old default backoff, 0.5 s doubling to 10 s, the attempt after the return came at 7.5 s.)
  const size_t ev0 = rec.num_events();
  server.kill_now();
  const auto killed = Clock::now();
  const int lost = rec.wait_event("cam", "disconnected", ev0, 5s);
  ASSERT_GE(lost, 0) << "no disconnect after the server died\n" << rec.dump();
  std::this_thread::sleep_for(3s);
  ASSERT_TRUE(server.start(port, &error)) << error;
  const auto restarted = Clock::now();
  const int back = rec.wait_event("cam", "reconnected", static_cast<size_t>(lost), 8s);
  ASSERT_GE(back, 0) << rec.dump();
  const double reconnect_ms = ms_between(restarted, rec.event(back).at);
  EXPECT_LT(reconnect_ms, 2000) << "reconnect after the server returned\n" << rec.dump();
  // The first result also waits for a detector batch.
  const double first_result_ms = rec.first_result_after("cam", restarted, 10s);
  ASSERT_GE(first_result_ms, 0) << rec.dump();
  if (keeps_up) {
    EXPECT_LT(first_result_ms, 2000) << "first result after the server returned\n" << rec.dump();
  }
  // The fault window ends when the camera is back; its catch-up after that competes for the
  // CPU like any busy channel and is not what isolation is about.
  const auto kill_b = rec.event(back).at;
  const size_t cam_before = rec.count("cam");
  ASSERT_TRUE(wait_for([&] { return rec.count("cam") >= cam_before + 5; }, 10s));

  // Fault 2: the server freezes (SIGSTOP): only the read timeout can notice.
  const size_t ev1 = rec.num_events();
  server.freeze();
  const auto frozen = Clock::now();
  const int stalled = rec.wait_event("cam", "disconnected", ev1, 5s);
  ASSERT_GE(stalled, 0) << "a frozen server must trip the read timeout\n" << rec.dump();
  const double detect_ms = ms_between(frozen, rec.event(stalled).at);
  EXPECT_NE(rec.event(stalled).message.find("no data within"), std::string::npos) << rec.dump();
  std::this_thread::sleep_for(1500ms);
  server.thaw();
  const auto thawed = Clock::now();
  const int again = rec.wait_event("cam", "reconnected", static_cast<size_t>(stalled), 8s);
  ASSERT_GE(again, 0) << rec.dump();
  const auto freeze_b = rec.event(again).at;
  const size_t cam_after = rec.count("cam");
  ASSERT_TRUE(wait_for([&] { return rec.count("cam") >= cam_after + 5; }, 10s));

  const PipelineStats st = p.stats();
  ASSERT_TRUE(p.stop(false).is_ok());
  uint64_t cam_queue_full = 0, files_dropped_since = 0;
  for (const ChannelStats& c : st.channels) {  // before the stop, which drops what is queued
    if (c.id != "cam") files_dropped_since += c.dropped;
    if (c.id == "cam") {
      EXPECT_EQ(c.reconnects, 2u);
      const auto it = c.dropped_by_reason.find("queue_full");
      cam_queue_full = it == c.dropped_by_reason.end() ? 0 : it->second;
    }
  }
  files_dropped_since -= dropped_a;
  {
    std::lock_guard<std::mutex> lock(rec.mu);
    EXPECT_TRUE(rec.backwards.empty()) << "output time went backwards on " << rec.backwards[0];
    // Both reconnects are source gaps: the people tracked before them end there, and none of
    // their ids comes back on the new connection.
    EXPECT_FALSE(rec.gap_ended["cam"].empty()) << "no track ended at the camera's reconnects";
    EXPECT_TRUE(rec.gap_ended["f1"].empty()) << "the file channels had no gap";
    EXPECT_TRUE(rec.resurrected.empty()) << "track " << rec.resurrected[0] << " outlived a gap";
  }
  // Three connects (start, after the kill, after the freeze), each with the server's burst of
  // buffered frames: the source spreads it out, so the camera's queue of 4 never overflows.
  for (const char* ch : {"f1", "f2"}) {
    const double base = rec.fps(ch, base_a, base_b);
    const double during_kill = rec.fps(ch, killed, kill_b);
    const double during_freeze = rec.fps(ch, frozen, freeze_b);
    std::printf("%s fps: healthy %.2f, server killed %.2f, server frozen %.2f%s\n", ch, base,
                during_kill, during_freeze, keeps_up ? "" : " (machine too busy for 10 fps)");
    if (keeps_up) {
      // Not slowed by the fault (above the base is a backlog catching up, not a stall).
      EXPECT_GT(during_kill, 0.9 * base) << ch << " while the camera's server was down";
      EXPECT_GT(during_freeze, 0.9 * base) << ch << " while the camera's server hung";
    } else {
      // A camera that stalls the others takes them to about zero. On an oversubscribed
      // machine the rate swings with the other processes' phases (4.0 fps at the baseline,
      // 1.5 during the kill, with the load at 8 on 2 cores), so only a near-stop fails here.
      EXPECT_GT(during_kill, 0.3 * base) << ch << " stalled while the camera's server was down";
      EXPECT_GT(during_freeze, 0.3 * base) << ch << " stalled while the camera's server hung";
    }
  }
  // A busy machine drops by policy on every channel, burst or not: the burst is checked when
  // the files, paced like the camera, never had to drop.
  if (keeps_up && files_dropped_since == 0) {
    EXPECT_EQ(cam_queue_full, 0u) << "cam frames dropped as queue_full";
  }
  std::printf(
      "cam: reconnected %.0f ms after the server returned, first result after %.0f ms; timeout"
      " noticed after %.0f ms; reconnected %.0f ms after SIGCONT; %llu queue_full drops (files"
      " dropped %llu since the baseline)\n",
      reconnect_ms, first_result_ms, detect_ms, ms_between(thawed, rec.event(again).at),
      static_cast<unsigned long long>(cam_queue_full),
      static_cast<unsigned long long>(files_dropped_since));
}

}  // namespace
}  // namespace vas
