// Pipeline tests. Every case here also runs under ThreadSanitizer in CI, so the inputs are
// short: the first frames of vtest.avi, pushed, or written to a short temporary clip, and
// yolov3-tiny at a reduced input size.
#include <arpa/inet.h>
#include <dirent.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "io/video_reader.h"
#include "io/video_writer.h"
#include "pipeline/pipeline.h"
#include "test_util.h"

namespace vas {
namespace {

using namespace std::chrono_literals;
using vas::testing::asset;

// The first n frames of vtest.avi, decoded once.
const std::vector<Image>& frames(size_t n = 40) {
  static std::vector<Image> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= n) return cache;
  auto r = VideoReader::open(asset("vtest.avi"));
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (!r.is_ok()) return cache;
  cache.clear();
  Frame f;
  while (cache.size() < n && r.value()->read(&f).is_ok()) {
    Image img;
    img.width = f.image.width;
    img.height = f.image.height;
    img.data.resize(static_cast<size_t>(img.stride()) * img.height);
    for (int y = 0; y < img.height; ++y) {
      std::copy(f.image.planes[0] + static_cast<size_t>(y) * f.image.strides[0],
                f.image.planes[0] + static_cast<size_t>(y) * f.image.strides[0] + img.stride(),
                img.data.begin() + static_cast<std::ptrdiff_t>(y) * img.stride());
    }
    cache.push_back(std::move(img));
  }
  return cache;
}

// A short clip of the first n frames of vtest.avi (for file-source channels).
std::string short_clip(int n = 16) {
  static std::string path;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (!path.empty()) return path;
  const std::string p =
      vas::testing::temp_dir() + "/vasdk_pipeline_" + std::to_string(getpid()) + ".mp4";
  const auto& fr = frames(static_cast<size_t>(n));
  VideoWriterOptions o;
  o.fps = 10;
  o.crf = 18;
  auto w = VideoWriter::open(p, fr[0].width, fr[0].height, o);
  EXPECT_TRUE(w.is_ok()) << w.status().message();
  for (int i = 0; i < n; ++i)
    EXPECT_TRUE(w.value()->write(fr[static_cast<size_t>(i)].view()).is_ok());
  EXPECT_TRUE(w.value()->close().is_ok());
  path = p;
  std::atexit([] { std::remove(path.c_str()); });
  return path;
}

std::string config(const std::string& channels, int max_batch = 4, int analytics_threads = 2,
                   int max_wait_ms = 20, int in_flight = 0) {
  return R"({"models": {"detector": {"model": ")" + asset("yolov3-tiny.onnx") +
         R"(", "options": {"input_width": 256, "input_height": 192}}},
  "inference": {"max_batch": )" +
         std::to_string(max_batch) + R"(, "max_wait_ms": )" + std::to_string(max_wait_ms) +
         R"(, "in_flight": )" + std::to_string(in_flight) + R"(, "threads": 1},
  "analytics_threads": )" +
         std::to_string(analytics_threads) + R"(, "channels": [)" + channels + "]}";
}

std::string push_channel(const std::string& id, const std::string& policy = "block", int queue = 4,
                         const std::string& extra = "") {
  return R"({"id": ")" + id + R"(", "push": true, "policy": ")" + policy + R"(", "queue": )" +
         std::to_string(queue) + extra + "}";
}

int count_entries(const char* dir) {
  int n = 0;
  DIR* d = opendir(dir);
  if (!d) return -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}
int thread_count() { return count_entries("/proc/self/task"); }
// thread_count() once it equals `expected`, polling for up to `budget`; otherwise the count at
// the end. A std::thread that join() has returned for can still be listed in /proc/self/task
// for a moment: the kernel wakes the joiner (clearing the thread id in exit_mm) before it
// removes the task (exit_notify), and on a loaded machine the exiting task can be preempted in
// between. Only threads that are already joined may be waited for like this; a thread that
// outlives stop() still runs after the budget and fails the comparison.
int settled_thread_count(int expected, std::chrono::milliseconds budget = std::chrono::seconds(2)) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  int n = thread_count();
  while (n != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    n = thread_count();
  }
  return n;
}
int fd_count() { return count_entries("/proc/self/fd") - 1; }  // minus opendir's own
// A baseline count: `count()` once it has held still for 250 ms (at most `budget`). Taken right
// after earlier pipelines, decoders and servers went away, a count can still include what is
// leaving: on a loaded machine an exited thread stays listed for a moment (see above), and so
// 3 threads and 4 descriptors more than the end's were once counted.
template <typename Count>
int settled_baseline(Count count, std::chrono::milliseconds budget = std::chrono::seconds(3)) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  int n = count();
  auto still_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const int m = count();
    if (m != n) {
      n = m;
      still_since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - still_since >= std::chrono::milliseconds(250)) {
      break;
    }
  }
  return n;
}

// Collects results per channel, thread-safe.
struct Collector {
  std::mutex mu;
  std::map<std::string, std::vector<FrameResult>> results;
  std::map<std::string, std::vector<PipelineEvent>> events;
  void attach(Pipeline& p) {
    ASSERT_TRUE(p.set_result_callback([this](const FrameResult& r) {
                   std::lock_guard<std::mutex> lock(mu);
                   results[r.channel].push_back(r);
                 }).is_ok());
    ASSERT_TRUE(p.set_event_callback([this](const PipelineEvent& e) {
                   std::lock_guard<std::mutex> lock(mu);
                   PipelineEvent copy = e;
                   if (e.kind == "best_shot") {
                     EXPECT_GT(e.crop.view.width, 0);
                     EXPECT_TRUE(e.crop.view.validate().is_ok());
                   }
                   copy.crop = {};  // borrowed for the callback only
                   events[e.channel].push_back(copy);
                 }).is_ok());
  }
  size_t count(const std::string& ch) {
    std::lock_guard<std::mutex> lock(mu);
    return results[ch].size();
  }
};

std::unique_ptr<Pipeline> make(const std::string& cfg) {
  auto p = Pipeline::create(cfg);
  EXPECT_TRUE(p.is_ok()) << p.status().message();
  return p.is_ok() ? std::move(p).value() : nullptr;
}

void expect_accounting(const PipelineStats& s) {
  for (const auto& c : s.channels) {
    EXPECT_EQ(c.decoded, c.processed + c.dropped) << "channel " << c.id;
    uint64_t sum = 0;
    for (const auto& kv : c.dropped_by_reason) sum += kv.second;
    EXPECT_EQ(sum, c.dropped) << "channel " << c.id;
  }
}

// While frames are in flight: none is counted twice.
void expect_accounting_in_flight(const PipelineStats& s) {
  for (const auto& c : s.channels) EXPECT_GE(c.decoded, c.processed + c.dropped) << c.id;
}

// Pushes the first n frames round-robin to the channels (policy block: nothing is dropped).
void push_all(Pipeline& p, const std::vector<std::string>& ids, size_t n) {
  const auto& fr = frames(n);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& id : ids) {
      Status s = p.push_frame(id, fr[i].view(), static_cast<int64_t>(i) * 100000, nullptr);
      ASSERT_TRUE(s.is_ok()) << s.message();
    }
  }
}

using Tracks = std::vector<std::vector<std::pair<int64_t, std::array<float, 4>>>>;
Tracks tracks_of(const std::vector<FrameResult>& rs) {
  Tracks t;
  for (const auto& r : rs) {
    t.emplace_back();
    for (const auto& o : r.objects) {
      t.back().push_back({o.track_id, {o.box[0], o.box[1], o.box[2], o.box[3]}});
    }
  }
  return t;
}

void expect_same_tracks(const Tracks& a, const Tracks& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t f = 0; f < a.size(); ++f) {
    ASSERT_EQ(a[f].size(), b[f].size()) << what << " frame " << f;
    for (size_t i = 0; i < a[f].size(); ++i) {
      EXPECT_EQ(a[f][i].first, b[f][i].first) << what << " frame " << f;
      for (int k = 0; k < 4; ++k) EXPECT_NEAR(a[f][i].second[k], b[f][i].second[k], 0.05) << what;
    }
  }
}

TEST(Pipeline, SameAnswerAtAnyScale) {
  const size_t n = 10;
  const std::string analytics = R"(, "analytics": {"tracker": {"min_hits": 1}})";
  // Reference: one channel, no batching.
  Tracks ref;
  {
    auto p = make(config(push_channel("solo", "block", 4, analytics), 1));
    ASSERT_TRUE(p);
    Collector c;
    c.attach(*p);
    ASSERT_TRUE(p->start().is_ok());
    push_all(*p, {"solo"}, n);
    ASSERT_TRUE(p->stop(true).is_ok());
    ASSERT_EQ(c.count("solo"), n);
    ref = tracks_of(c.results["solo"]);
    size_t objects = 0;
    for (const auto& f : ref) objects += f.size();
    EXPECT_GE(objects, n) << "vtest.avi should show people on most frames";
    expect_accounting(p->stats());
  }
  // Batch sizes, and several batches in inference at once (lanes finish out of order).
  for (const auto& [max_batch, in_flight] :
       std::vector<std::pair<int, int>>{{1, 0}, {4, 0}, {2, 3}}) {
    std::string chans;
    std::vector<std::string> ids = {"a", "b", "c", "d"};
    for (const auto& id : ids)
      chans += (chans.empty() ? "" : ",") + push_channel(id, "block", 4, analytics);
    auto p = make(config(chans, max_batch, 2, 20, in_flight));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->stats().inference_lanes, in_flight > 0 ? in_flight : 1)
        << "ORT runs one at a time";
    EXPECT_EQ(p->stats().inference_backend.rfind("ort ", 0), 0u) << p->stats().inference_backend;
    Collector c;
    c.attach(*p);
    ASSERT_TRUE(p->start().is_ok());
    push_all(*p, ids, n);
    ASSERT_TRUE(p->stop(true).is_ok());
    const PipelineStats s = p->stats();
    expect_accounting(s);
    if (max_batch > 1) {
      EXPECT_GT(s.batch_mean, 1.0) << "4 channels should share batches";
    }
    for (const auto& id : ids) {
      EXPECT_EQ(c.count(id), n);
      expect_same_tracks(ref, tracks_of(c.results[id]),
                         "channel " + id + " max_batch " + std::to_string(max_batch) +
                             " in_flight " + std::to_string(in_flight));
    }
  }
}

// Without "max_batch", one lane batches (ORT) and several lanes run single frames (OpenVINO's
// streams; here ORT with in_flight 2 takes the same path). A set value always wins.
TEST(Pipeline, MaxBatchDefaultsByLanes) {
  auto cfg = [](const std::string& inference) {
    return R"({"models": {"detector": {"model": ")" + asset("yolov3-tiny.onnx") +
           R"(", "options": {"input_width": 256, "input_height": 192}}}, "inference": )" +
           inference + R"(, "channels": [)" + push_channel("a") + "]}";
  };
  const std::vector<std::tuple<std::string, int, int>> cases = {
      {R"({"threads": 1})", 1, 2},
      {R"({"threads": 1, "max_batch": 4})", 1, 4},
      {R"({"threads": 1, "in_flight": 2})", 2, 1},
      {R"({"threads": 1, "in_flight": 2, "max_batch": 3})", 2, 3},
      {R"({"threads": 1, "max_batch": 1})", 1, 1}};
  for (const auto& [inference, lanes, max_batch] : cases) {
    auto p = make(cfg(inference));
    ASSERT_TRUE(p) << inference;
    EXPECT_EQ(p->stats().inference_lanes, lanes) << inference;
    EXPECT_EQ(p->stats().inference_max_batch, max_batch) << inference;
  }
}

TEST(Pipeline, FileChannelsInFrameOrder) {
  const std::string clip = short_clip();
  std::string chans;
  for (const char* id : {"f1", "f2"}) {
    chans += std::string(chans.empty() ? "" : ",") + R"({"id": ")" + id +
             R"(", "policy": "block", "detect_interval": 2, "source": {"url": ")" + clip +
             R"("}, "analytics": {"tracker": {"min_hits": 1}, "best_shot": {"jpeg": true}}})";
  }
  auto p = make(config(chans));
  ASSERT_TRUE(p);
  Collector c;
  c.attach(*p);
  ASSERT_TRUE(p->start().is_ok());
  // The clips end by themselves; wait for both (bounded).
  for (int i = 0; i < 300 && (c.count("f1") < 16 || c.count("f2") < 16); ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(p->stop(true).is_ok());
  for (const char* id : {"f1", "f2"}) {
    const auto& rs = c.results[id];
    ASSERT_EQ(rs.size(), 16u) << id;
    for (size_t i = 0; i < rs.size(); ++i) {
      EXPECT_EQ(rs[i].frame, static_cast<int64_t>(i));
      EXPECT_EQ(rs[i].detected, i % 2 == 0) << "detect_interval 2";
      if (i) {
        EXPECT_GE(rs[i].ts_us, rs[i - 1].ts_us);
      }
    }
    int64_t last = INT64_MIN;
    std::map<std::string, int> kinds;
    for (const auto& e : c.events[id]) {
      kinds[e.kind]++;
      if (e.kind == "source") continue;
      EXPECT_GE(e.ts_us, last) << e.kind;
      last = e.ts_us;
      if (e.kind == "best_shot") {
        EXPECT_FALSE(e.jpeg.empty());
      }
    }
    // The end of the file flushed the analytics: every started track ended, with a best shot.
    EXPECT_GT(kinds["track_start"], 0) << id;
    EXPECT_EQ(kinds["track_start"], kinds["track_end"]) << id;
    EXPECT_GT(kinds["best_shot"], 0) << id;
    EXPECT_GT(kinds["source"], 0) << id << ": connected / end of stream";
  }
  expect_accounting(p->stats());
  expect_same_tracks(tracks_of(c.results["f1"]), tracks_of(c.results["f2"]), "f1 vs f2");

  // CPU per delivered frame: every stage of this run did work, the stages and "other" add up
  // to the process's CPU, and the figures are frozen once stopped.
  const CpuStats cpu = p->stats().cpu_ms_per_frame;
  EXPECT_EQ(cpu.frames, 32u);
  for (const auto& [name, v] : std::map<std::string, double>{{"decode", cpu.decode},
                                                             {"preprocess", cpu.preprocess},
                                                             {"inference", cpu.inference},
                                                             {"postprocess", cpu.postprocess},
                                                             {"analytics", cpu.analytics},
                                                             {"delivery", cpu.delivery}}) {
    EXPECT_GT(v, 0.0) << name;
  }
  EXPECT_LT(cpu.annotate, 0.05) << "no channel asked for annotated video";
  const double own = cpu.decode + cpu.preprocess + cpu.inference + cpu.postprocess + cpu.analytics +
                     cpu.delivery + cpu.annotate;
  EXPECT_LE(own, cpu.process * 1.01 + 0.01) << "a stage counted CPU the process did not spend";
  EXPECT_NEAR(own + cpu.other, cpu.process, 0.01 + 1e-3 * cpu.process);
  // A yolov3-tiny inference is tens of ms of CPU; a stage timed with a wall clock or a
  // per-frame divisor gone wrong would not stay below the process total per frame.
  EXPECT_GT(cpu.inference + cpu.other, cpu.preprocess) << "inference is the heaviest stage";
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(p->stats().cpu_ms_per_frame.process, cpu.process) << "stats freeze at stop";
}

TEST(Pipeline, OverloadKeepsLatencyBoundedAndCountsDrops) {
  auto p = make(config(push_channel("fast", "drop_oldest", 2), 2, 1, 5));
  ASSERT_TRUE(p);
  Collector c;
  c.attach(*p);
  ASSERT_TRUE(p->start().is_ok());
  const auto& fr = frames(40);
  uint64_t refused = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {  // as fast as memcpy allows: far above the detector's rate
    Status s =
        p->push_frame("fast", fr[static_cast<size_t>(i) % fr.size()].view(), i * 1000, nullptr);
    if (!s.is_ok()) {
      ASSERT_EQ(s.code(), StatusCode::kPoolExhausted) << s.message();
      ++refused;
    }
    if (i % 50 == 0) expect_accounting_in_flight(p->stats());
  }
  const double push_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(p->stop(true).is_ok());
  const PipelineStats s = p->stats();
  expect_accounting(s);
  const ChannelStats& ch = s.channels.at(0);
  EXPECT_EQ(ch.decoded, 300u);
  EXPECT_GT(ch.dropped, 0u) << "input outpaced processing";
  EXPECT_GE(ch.dropped_by_reason.at("pool_exhausted"), refused);
  EXPECT_EQ(c.count("fast"), ch.processed);
  // At most queue + batch + 1 frames ahead of any frame: p99 stays well under a second
  // (a generous bound for sanitizer builds on busy CI).
  EXPECT_LT(ch.latency_p99_ms, 2000.0);
  EXPECT_LE(ch.pool_in_use_bytes, ch.pool_reserved_bytes);
  EXPECT_LE(ch.pool_reserved_bytes, ch.pool_capacity_bytes);
  EXPECT_GT(ch.pool_reserved_bytes, 0u);
  // Results are still in frame order, with gaps where frames were dropped.
  const auto& rs = c.results["fast"];
  for (size_t i = 1; i < rs.size(); ++i) EXPECT_GT(rs[i].frame, rs[i - 1].frame);
  std::printf(
      "overload: pushed 300 in %.2f s, processed %llu, dropped %llu, p50 %.1f ms, p99 %.1f ms\n",
      push_s, static_cast<unsigned long long>(ch.processed),
      static_cast<unsigned long long>(ch.dropped), ch.latency_p50_ms, ch.latency_p99_ms);
}

// A TCP port that accepts connections (in the kernel's backlog) and never answers: an RTSP
// client connects and then waits for a reply, like a camera that hangs mid-handshake.
struct SilentServer {
  int fd = -1;
  int port = 0;
  SilentServer() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 && listen(fd, 8) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
  }
  ~SilentServer() {
    if (fd >= 0) close(fd);
  }
};

TEST(Pipeline, SlowCallbackOrDeadSourceDoesNotStallOthers) {
  SilentServer silent;
  ASSERT_GT(silent.port, 0);
  const std::string dead = R"({"id": "dead", "source": {"url": "rtsp://127.0.0.1:)" +
                           std::to_string(silent.port) +
                           R"(/stuck", "open_timeout_ms": 20000, "read_timeout_ms": 20000}})";
  // Detection on the first frame only: what is measured is the analytics side, whatever the
  // detector's speed on a busy machine.
  const std::string rare = R"(, "detect_interval": 1000)";
  // Queue 16: room for the frames that arrive while the first frame is being detected.
  auto p = make(config(push_channel("slow", "drop_oldest", 16, rare) + "," +
                           push_channel("ok", "drop_oldest", 16, rare) + "," + dead,
                       4, 2));
  ASSERT_TRUE(p);
  std::atomic<int> ok_count{0}, slow_count{0};
  ASSERT_TRUE(p->set_result_callback([&](const FrameResult& r) {
                 if (r.channel == "slow") {
                   slow_count++;
                   std::this_thread::sleep_for(300ms);
                 } else if (r.channel == "ok") {
                   ok_count++;
                 }
               }).is_ok());
  ASSERT_TRUE(p->start().is_ok());
  const auto& fr = frames(20);
  // 20 fps for 1.5 s on both; "ok" must see every frame the detector could handle.
  for (int i = 0; i < 30; ++i) {
    (void)p->push_frame("slow", fr[static_cast<size_t>(i % 20)].view(), i * 50000, nullptr);
    ASSERT_TRUE(
        p->push_frame("ok", fr[static_cast<size_t>(i % 20)].view(), i * 50000, nullptr).is_ok());
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(300ms);
  const PipelineStats mid = p->stats();
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(p->stop(false).is_ok());
  const double stop_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(stop_s, 1.5) << "stop() while a source is stuck and a callback is slow";
  EXPECT_LT(slow_count.load(), ok_count.load() / 2);
  EXPECT_GE(ok_count.load(), 25) << "the healthy channel kept its rate";
  for (const auto& c : mid.channels) {
    if (c.id == "dead") {
      EXPECT_EQ(c.decoded, 0u);
    }
  }
  expect_accounting(p->stats());
}

// Bytes the allocator has handed out and not had back: unlike RSS, blind to arenas and
// fragmentation, so it grows only with what is really kept.
size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Resident set size in KiB.
long rss_kib() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  std::fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// The sanitizers' shadow memory and quarantines make RSS meaningless.
using vas::testing::kSanitized;

// 100 add/remove cycles while frames flow, then 50 stop/start cycles (draining and at once
// alternately). Threads, file descriptors and memory must come back to where they were. Memory
// is compared between stopped states, when no frame is in flight.
TEST(Pipeline, LiveAddRemoveAndRestart) {
  short_clip();
  const auto& fr = frames(10);
  make(config(push_channel("warm")));  // the runtime's one-time threads and files
  const int baseline = settled_baseline(thread_count);
  const int fds = settled_baseline(fd_count);
  {
    auto p = make(config(push_channel("base", "drop_oldest", 2)));
    ASSERT_TRUE(p);
    // Counted, not kept: the heap must not grow with the results either.
    std::atomic<uint64_t> base_results{0}, events{0};
    ASSERT_TRUE(p->set_result_callback([&](const FrameResult& r) {
                   if (r.channel == "base") base_results++;
                 }).is_ok());
    ASSERT_TRUE(p->set_event_callback([&](const PipelineEvent&) { events++; }).is_ok());
    std::atomic<bool> pushing{false}, done{false};
    std::atomic<int> pushed_extra{0};
    std::thread pusher([&] {
      for (int i = 0; !done; ++i) {
        if (!pushing) {
          std::this_thread::sleep_for(1ms);
          continue;
        }
        (void)p->push_frame("base", fr[static_cast<size_t>(i) % fr.size()].view(), i * 1000,
                            nullptr);
        if (p->push_frame("extra", fr[static_cast<size_t>(i) % fr.size()].view(), i * 1000, nullptr)
                .is_ok())
          pushed_extra++;
        std::this_thread::sleep_for(2ms);
      }
    });
    auto cycles = [&](int n) {
      for (int k = 0; k < n; ++k) {
        ASSERT_TRUE(p->add_channel(push_channel("extra", "drop_oldest", 2)).is_ok()) << k;
        EXPECT_EQ(p->add_channel(push_channel("extra")).code(), StatusCode::kInvalidArgument);
        ASSERT_TRUE(
            p->add_channel(R"({"id": "file", "source": {"url": ")" + short_clip() + R"("}})")
                .is_ok())
            << k;
        std::this_thread::sleep_for(k % 10 == 0 ? 40ms : 4ms);
        ASSERT_TRUE(p->update_rules("base", R"({"rules": []})").is_ok());
        ASSERT_TRUE(p->remove_channel(k % 2 ? "extra" : "file").is_ok()) << k;
        ASSERT_TRUE(p->remove_channel(k % 2 ? "file" : "extra").is_ok()) << k;
        EXPECT_EQ(p->remove_channel("extra").code(), StatusCode::kNotFound);
      }
    };
    // Warm-up: pools, latency windows and allocator arenas reach their working size.
    ASSERT_TRUE(p->start().is_ok());
    EXPECT_FALSE(p->start().is_ok()) << "start twice";
    const int running = thread_count();
    pushing = true;
    cycles(20);
    pushing = false;
    ASSERT_TRUE(p->stop(true).is_ok());
    // stop() has joined the pipeline's threads; only the pusher is left beside the baseline.
    const int stopped = settled_thread_count(baseline + 1);
    const size_t heap0 = heap_in_use();
    const long rss0 = rss_kib();

    // Two halves of 50 cycles, each measured from a stopped pipeline. A leak grows in both;
    // a one-off growth (an engine arena meeting a new batch size on a busy machine, a pool's
    // high-water mark) lands in one. So the smaller half is the leak estimate.
    size_t heap_half[3] = {heap0, 0, 0};
    long rss_half[3] = {rss0, 0, 0};
    for (int half = 1; half <= 2; ++half) {
      ASSERT_TRUE(p->start().is_ok());
      pushing = true;
      cycles(50);
      EXPECT_EQ(settled_thread_count(running), running) << "threads after add/remove cycles";
      pushing = false;
      expect_accounting_in_flight(p->stats());
      ASSERT_TRUE(p->stop(false).is_ok());
      expect_accounting(p->stats());
      EXPECT_EQ(settled_thread_count(stopped), stopped);
      heap_half[half] = heap_in_use();
      rss_half[half] = rss_kib();
    }
    EXPECT_GT(pushed_extra.load(), 0) << "the added channel took frames";
    const size_t heap1 = heap_half[2];
    const long rss1 = rss_half[2];
    auto grew = [](double a, double b, double c) { return std::min(b - a, c - b); };
    // One channel's queue, pool and state is far above 2.5 KiB; 50 leaked would show.
    EXPECT_LT(grew(heap_half[0], heap_half[1], heap_half[2]), 128.0 * 1024)
        << "heap bytes " << heap_half[0] << " -> " << heap_half[1] << " -> " << heap_half[2];
    if (!kSanitized) {
      EXPECT_LT(grew(rss_half[0], rss_half[1], rss_half[2]), 16.0 * 1024)
          << "RSS KiB " << rss_half[0] << " -> " << rss_half[1] << " -> " << rss_half[2];
    }

    for (int round = 0; round < 50; ++round) {
      ASSERT_TRUE(p->start().is_ok()) << round;
      pushing = true;
      std::this_thread::sleep_for(round % 10 == 0 ? 60ms : 6ms);
      pushing = false;
      ASSERT_TRUE(p->stop(round % 2 == 0).is_ok()) << round;
      expect_accounting(p->stats());
      EXPECT_EQ(settled_thread_count(stopped), stopped) << "threads after stop " << round;
    }
    const size_t heap2 = heap_in_use();
    EXPECT_LT(static_cast<double>(heap2) - static_cast<double>(heap1), 256.0 * 1024)
        << "heap bytes " << heap1 << " -> " << heap2 << " over 50 stop/start";
    done = true;
    pusher.join();
    EXPECT_GT(base_results.load(), 0u);
    if (getenv("VASDK_TEST_VERBOSE"))
      std::fprintf(stderr, "heap %zu %zu %zu rss %ld %ld\n", heap0, heap1, heap2, rss0, rss1);
  }
  EXPECT_EQ(settled_thread_count(baseline), baseline) << "threads after destroy";
  EXPECT_EQ(fd_count(), fds) << "file descriptors after destroy";
}

// A broker that is not there: the sink's outage reaches the event callback as a "sink" event
// and the other sinks record it; nothing blocks the channel.
TEST(Pipeline, SinkOutageIsAnEvent) {
  int port = 0;
  {
    SilentServer s;  // a port that was just free; closed again, so connecting is refused
    port = s.port;
  }
  const std::string jsonl =
      vas::testing::temp_dir() + "/vasdk_pipe_sinks_" + std::to_string(getpid()) + ".jsonl";
  std::remove(jsonl.c_str());
  std::string cfg = config(push_channel("a", "block", 4));
  cfg.insert(cfg.rfind('}'), R"(, "node_id": "n1", "sinks": [
      {"type": "mqtt", "name": "broker", "port": )" +
                                 std::to_string(port) + R"(, "reconnect_initial_ms": 50},
      {"type": "jsonl", "path": ")" +
                                 jsonl + R"("}])");
  auto p = make(cfg);
  ASSERT_TRUE(p);
  std::mutex mu;
  std::vector<PipelineEvent> sink_events;
  ASSERT_TRUE(p->set_event_callback([&](const PipelineEvent& e) {
                 if (e.kind != "sink") return;
                 std::lock_guard<std::mutex> lock(mu);
                 sink_events.push_back(e);
               }).is_ok());
  ASSERT_TRUE(p->start().is_ok());
  push_all(*p, {"a"}, 4);
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!sink_events.empty()) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(p->stop(true).is_ok());
  const PipelineStats st = p->stats();
  EXPECT_EQ(st.channels[0].processed, 4u) << "the outage does not hold the channel";
  p.reset();  // closes the sinks: the JSON-lines file is complete
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_FALSE(sink_events.empty()) << "no sink event for a refused connection";
    EXPECT_EQ(sink_events[0].subkind, "disconnected");
    EXPECT_EQ(sink_events[0].channel, "");
    EXPECT_NE(sink_events[0].message.find("sink 'broker'"), std::string::npos)
        << sink_events[0].message;
    EXPECT_GT(sink_events[0].wall_us, 0);
  }
  const std::string lines = vas::testing::read_file(jsonl);
  std::remove(jsonl.c_str());
  EXPECT_NE(lines.find(R"("kind":"sink")"), std::string::npos) << lines;
  EXPECT_NE(lines.find(R"("node_id":"n1")"), std::string::npos) << lines;
}

// A file damaged in the middle: the channel goes on, and the skipped damage is a "source" /
// "damaged" event rather than a silent gap.
TEST(Pipeline, CorruptFileMidStreamIsReported) {
  std::string bytes = vas::testing::read_file(short_clip());
  ASSERT_GT(bytes.size(), 4096u);
  for (size_t i = bytes.size() / 3; i < bytes.size() / 2; ++i)
    bytes[i] = static_cast<char>(i * 131);
  const std::string path =
      vas::testing::temp_dir() + "/vasdk_pipe_corrupt_" + std::to_string(getpid()) + ".mp4";
  vas::testing::write_file(path, bytes);
  auto p = make(config(R"({"id": "bad", "source": {"url": ")" + path + R"("}, "policy": "block"},
                          {"id": "good", "source": {"url": ")" +
                       short_clip() + R"("}, "policy": "block"})"));
  ASSERT_TRUE(p);
  Collector c;
  c.attach(*p);
  ASSERT_TRUE(p->start().is_ok());
  for (int i = 0; i < 500; ++i) {
    const PipelineStats st = p->stats();
    if (std::all_of(st.channels.begin(), st.channels.end(),
                    [](const ChannelStats& ch) { return ch.state == "ended"; }))
      break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(p->stop(true).is_ok());
  std::remove(path.c_str());
  expect_accounting(p->stats());
  std::lock_guard<std::mutex> lock(c.mu);
  EXPECT_EQ(c.results["good"].size(), 16u) << "the healthy channel is untouched";
  EXPECT_LT(c.results["bad"].size(), 16u);
  bool damaged = false;
  for (const PipelineEvent& e : c.events["bad"]) {
    if (e.kind == "source" && e.subkind == "damaged") {
      damaged = true;
      EXPECT_NE(e.message.find("skipped"), std::string::npos) << e.message;
    }
  }
  EXPECT_TRUE(damaged) << "no damaged event for a file with garbage in the middle";
}

TEST(Pipeline, BadConfigNamesTheField) {
  auto expect_error = [](const std::string& cfg, const std::string& needle) {
    auto p = Pipeline::create(cfg);
    ASSERT_FALSE(p.is_ok()) << cfg;
    EXPECT_NE(p.status().message().find(needle), std::string::npos) << p.status().message();
  };
  expect_error(config(push_channel("a", "drop_sometimes")), "channels[0].policy");
  expect_error(config(R"({"id": "a", "push": true, "colour": 1})"), "channels[0].colour");
  expect_error(
      config(R"({"id": "a", "source": {"url": "rtsp://127.0.0.1:9/x"}, "policy": "block"})"),
      "channels[0].policy");
  expect_error(config(R"({"id": "a", "source": {"url": "gopher://x/y"}})"), "channels[0].source");
  expect_error(config(push_channel("a") + "," + push_channel("a")), "channels[1].id");
  expect_error(config(push_channel("a", "block", 0)), "channels[0].queue");
  expect_error(R"({"models": {"detector": {"model": "/nonexistent.onnx"}}})", "models.detector");
  expect_error(R"({"models": {"detector": {"model": "m.onnx"}}, "extra": 1})", "extra");
  expect_error(R"({"models": {"detector": {"model": "m.onnx"}}, "inference": {"thread": 1}})",
               "inference.thread");
  expect_error(R"({"models": {"detector": {"model": "m.onnx", "options": {"thread": 1}}}})",
               "models.detector.options");
  expect_error(config(R"({"id": "a", "push": true, "analytics": {"tracker": {"min_hits": -1}}})"),
               "channels[0].analytics");
  expect_error("{not json", "JSON");
}

TEST(Pipeline, BadCallsAndDestroyFromCallback) {
  auto p = make(config(push_channel("a", "drop_newest", 2) + "," +
                       R"({"id": "g", "push": true, "format": "gray8"})"));
  ASSERT_TRUE(p);
  const auto& fr = frames(4);
  EXPECT_FALSE(p->push_frame("a", fr[0].view(), 0, nullptr).is_ok()) << "before start";
  // Before start: no pipeline thread runs yet (counted after stop, a thread just joined can
  // still be listed in /proc/self/task for a moment; see settled_thread_count).
  const int baseline = settled_baseline(thread_count);
  ASSERT_TRUE(p->start().is_ok());
  EXPECT_FALSE(p->set_result_callback(nullptr).is_ok()) << "callbacks are set before start";
  EXPECT_EQ(p->push_frame("nope", fr[0].view(), 0, nullptr).code(), StatusCode::kNotFound);
  EXPECT_EQ(p->push_frame("g", fr[0].view(), 0, nullptr).code(), StatusCode::kInvalidArgument);
  ImageView broken = fr[0].view();
  broken.planes[0] = nullptr;
  EXPECT_EQ(p->push_frame("a", broken, 0, nullptr).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(p->push_frame("a", fr[0].view(), 0, nullptr).is_ok());
  ImageView smaller = fr[0].view();
  smaller.width -= 2;
  EXPECT_EQ(p->push_frame("a", smaller, 1, nullptr).code(), StatusCode::kInvalidArgument);
  // Zero copy: release runs exactly once, also when the frame is refused.
  std::atomic<int> released{0};
  ASSERT_TRUE(p->push_frame("a", fr[1].view(), 2, [&] { released++; }).is_ok());
  EXPECT_FALSE(p->push_frame("g", fr[1].view(), 3, [&] { released++; }).is_ok());
  EXPECT_EQ(p->update_rules("nope", "{}").code(), StatusCode::kNotFound);
  const Status bad_channel = p->add_channel(R"({"id": "b", "push": true, "queue": -3})");
  EXPECT_EQ(bad_channel.code(), StatusCode::kInvalidConfig);
  EXPECT_NE(bad_channel.message().find("channel.queue"), std::string::npos)
      << bad_channel.message();
  const Status bad_rules = p->update_rules(
      "a", R"({"rules": [{"id": "l", "type": "line_crossing", "line": [[0, 0]]}]})");
  EXPECT_EQ(bad_rules.code(), StatusCode::kInvalidConfig);
  EXPECT_NE(bad_rules.message().find("rules[0].line"), std::string::npos) << bad_rules.message();
  EXPECT_TRUE(p->update_rules("a", R"({"rules": [{"id": "door", "type": "line_crossing",
      "line": [[0, 300], [768, 300]]}]})")
                  .is_ok());
  ASSERT_TRUE(p->stop(true).is_ok());
  EXPECT_EQ(released.load(), 2);
  EXPECT_FALSE(p->push_frame("a", fr[0].view(), 5, nullptr).is_ok()) << "after stop";
  EXPECT_TRUE(p->stop(false).is_ok()) << "stop twice";
  expect_accounting(p->stats());

  // Stop, remove and destroy from inside a callback: errors or a safe teardown, never a hang.
  EXPECT_EQ(settled_thread_count(baseline), baseline) << "stop joined every pipeline thread";
  {
    auto q = make(config(push_channel("x", "block", 2)));
    ASSERT_TRUE(q);
    std::atomic<Pipeline*> self{q.get()};
    std::atomic<int> calls{0};
    Status stop_status, remove_status;
    bool in_cb = false;
    std::mutex mu;
    std::unique_ptr<Pipeline>* holder = &q;
    std::atomic<bool> destroyed{false};
    ASSERT_TRUE(q->set_result_callback([&](const FrameResult&) {
                   if (calls++ != 0) return;
                   std::lock_guard<std::mutex> lock(mu);
                   in_cb = self.load()->in_callback_thread();
                   stop_status = self.load()->stop(false);
                   remove_status = self.load()->remove_channel("x");
                   holder->reset();  // destroy from the callback: must not deadlock
                   destroyed = true;
                 }).is_ok());
    ASSERT_TRUE(q->start().is_ok());
    EXPECT_FALSE(q->in_callback_thread());
    ASSERT_TRUE(q->push_frame("x", fr[0].view(), 0, nullptr).is_ok());
    for (int i = 0; i < 300 && !destroyed; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(destroyed.load());
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(in_cb);
    EXPECT_EQ(stop_status.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(remove_status.code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(settled_thread_count(baseline), baseline)
      << "the detached worker exits after its callback";
}

}  // namespace
}  // namespace vas
