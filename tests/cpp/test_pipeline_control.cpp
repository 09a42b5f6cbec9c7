// Pipeline control as the header promises it: removing a channel from another channel's
// callback, the final counters of a removed channel, what push_frame returns when drop_newest
// drops, stats after stop, and the end of tracks at a source gap. Runs under TSan in CI (the
// file name matches "pipeline"), so the inputs are short.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/video_reader.h"
#include "pipeline/pipeline.h"
#include "test_util.h"

namespace vas {
namespace {

using namespace std::chrono_literals;
using vas::testing::asset;

// The first frame of vtest.avi, decoded once (people standing in a hall: tracks that persist
// while the same frame is pushed again and again).
const Image& still() {
  static Image img;
  static std::once_flag once;
  std::call_once(once, [] {
    auto r = VideoReader::open(asset("vtest.avi"));
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    Frame f;
    ASSERT_TRUE(r.value()->read(&f).is_ok());
    img.width = f.image.width;
    img.height = f.image.height;
    img.data.resize(static_cast<size_t>(img.stride()) * img.height);
    for (int y = 0; y < img.height; ++y) {
      std::copy(f.image.planes[0] + static_cast<size_t>(y) * f.image.strides[0],
                f.image.planes[0] + static_cast<size_t>(y) * f.image.strides[0] + img.stride(),
                img.data.begin() + static_cast<std::ptrdiff_t>(y) * img.stride());
    }
  });
  return img;
}

std::string config(const std::string& channels, int analytics_threads = 2) {
  return R"({"models": {"detector": {"model": ")" + asset("yolov3-tiny.onnx") +
         R"(", "options": {"input_width": 256, "input_height": 192}}},
  "inference": {"max_batch": 2, "max_wait_ms": 5, "threads": 1},
  "analytics_threads": )" +
         std::to_string(analytics_threads) + R"(, "channels": [)" + channels + "]}";
}

std::string push_channel(const std::string& id, const std::string& policy = "block", int queue = 4,
                         const std::string& extra = "") {
  return R"({"id": ")" + id + R"(", "push": true, "policy": ")" + policy + R"(", "queue": )" +
         std::to_string(queue) + extra + "}";
}

std::unique_ptr<Pipeline> make(const std::string& cfg) {
  auto p = Pipeline::create(cfg);
  EXPECT_TRUE(p.is_ok()) << p.status().message();
  return p.is_ok() ? std::move(p).value() : nullptr;
}

struct Events {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<PipelineEvent> all;
  void add(const PipelineEvent& e) {
    PipelineEvent copy = e;
    copy.crop = {};
    std::lock_guard<std::mutex> lock(mu);
    all.push_back(std::move(copy));
    cv.notify_all();
  }
  // The first event of this kind/subkind on this channel, waiting up to `budget`.
  bool wait_for(const std::string& channel, const std::string& kind, const std::string& subkind,
                PipelineEvent* out, std::chrono::milliseconds budget = 10s) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, budget, [&] {
      for (const auto& e : all) {
        if (e.channel == channel && e.kind == kind && e.subkind == subkind) {
          *out = e;
          return true;
        }
      }
      return false;
    });
  }
  std::vector<PipelineEvent> of(const std::string& channel) {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<PipelineEvent> r;
    for (const auto& e : all)
      if (e.channel == channel) r.push_back(e);
    return r;
  }
};

void expect_final_counters(const nlohmann::json& j, const std::string& id) {
  EXPECT_EQ(j.at("id"), id);
  EXPECT_EQ(j.at("state"), "removed");
  const uint64_t decoded = j.at("decoded"), processed = j.at("processed"),
                 dropped = j.at("dropped");
  EXPECT_EQ(decoded, processed + dropped) << j.dump();
  uint64_t by_reason = 0;
  for (const auto& kv : j.at("dropped_by_reason").items()) by_reason += kv.value().get<uint64_t>();
  EXPECT_EQ(by_reason, dropped) << j.dump();
}

TEST(PipelineControl, RemoveAnotherChannelFromACallbackFinishesAfterIt) {
  // One analytics worker: the removal cannot wait for the removed channel's worker from inside
  // a callback, since that worker is the one running the callback.
  for (int workers : {1, 2}) {
    auto p = make(config(push_channel("a") + "," + push_channel("b"), workers));
    ASSERT_TRUE(p);
    Events events;
    std::atomic<int> calls{0};
    Status remove_other, remove_self, remove_again;
    std::atomic<bool> done{false};
    Pipeline* raw = p.get();
    ASSERT_TRUE(p->set_result_callback([&](const FrameResult& r) {
                   if (r.channel != "a" || calls++ != 0) return;
                   remove_self = raw->remove_channel("a");
                   remove_other = raw->remove_channel("b");
                   remove_again = raw->remove_channel("b");  // already on its way out
                   done = true;
                 }).is_ok());
    ASSERT_TRUE(p->set_event_callback([&](const PipelineEvent& e) { events.add(e); }).is_ok());
    ASSERT_TRUE(p->start().is_ok());
    const Image& img = still();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(p->push_frame("b", img.view(), i * 100000, nullptr).is_ok());
    }
    ASSERT_TRUE(p->push_frame("a", img.view(), 0, nullptr).is_ok());
    PipelineEvent removed;
    ASSERT_TRUE(events.wait_for("b", "channel", "removed", &removed)) << "workers " << workers;
    ASSERT_TRUE(done.load());
    EXPECT_EQ(remove_self.code(), StatusCode::kInvalidArgument) << remove_self.message();
    EXPECT_TRUE(remove_other.is_ok()) << remove_other.message();
    EXPECT_TRUE(remove_again.is_ok()) << remove_again.message();
    const auto j = nlohmann::json::parse(removed.message);
    expect_final_counters(j, "b");
    EXPECT_EQ(j.at("decoded"), 3u);
    // It is gone: the stats no longer list it, pushes and a second removal find nothing.
    for (const auto& c : p->stats().channels) EXPECT_NE(c.id, "b");
    EXPECT_EQ(p->push_frame("b", img.view(), 1000000, nullptr).code(), StatusCode::kNotFound);
    EXPECT_EQ(p->remove_channel("b").code(), StatusCode::kNotFound);
    // The removed event is the channel's last.
    const auto evs = events.of("b");
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs.back().kind, "channel");
    // The id can be used again.
    EXPECT_TRUE(p->add_channel(push_channel("b")).is_ok());
    ASSERT_TRUE(p->stop(true).is_ok());
  }
}

TEST(PipelineControl, RemoveHandsBackTheFinalCounters) {
  auto p = make(config(push_channel("a", "drop_oldest", 2)));
  ASSERT_TRUE(p);
  Events events;
  ASSERT_TRUE(p->set_event_callback([&](const PipelineEvent& e) { events.add(e); }).is_ok());
  ASSERT_TRUE(p->start().is_ok());
  const Image& img = still();
  int pushed = 0;
  for (int i = 0; i < 12; ++i) {
    if (p->push_frame("a", img.view(), i * 100000, nullptr).is_ok()) ++pushed;
  }
  ChannelStats last;
  ASSERT_TRUE(p->remove_channel("a", &last).is_ok());
  EXPECT_EQ(last.id, "a");
  EXPECT_EQ(last.state, "removed");
  EXPECT_EQ(last.decoded, static_cast<uint64_t>(pushed));
  EXPECT_EQ(last.decoded, last.processed + last.dropped);
  // The same counters came as the channel's last event, on this thread, before the return.
  PipelineEvent removed;
  ASSERT_TRUE(events.wait_for("a", "channel", "removed", &removed, 0ms));
  const auto j = nlohmann::json::parse(removed.message);
  expect_final_counters(j, "a");
  EXPECT_EQ(j.at("decoded"), last.decoded);
  EXPECT_EQ(j.at("processed"), last.processed);
  EXPECT_EQ(j.at("events"), last.events);
  EXPECT_EQ(events.of("a").size(), last.events) << "every event of the channel is counted";
  ASSERT_TRUE(p->stop(false).is_ok());
}

TEST(PipelineControl, DropNewestReturnsADistinctStatusAndReleasesOnce) {
  auto p = make(config(push_channel("a", "drop_newest", 1)));
  ASSERT_TRUE(p);
  // The first result blocks the channel's worker until every push is made, so the queue fills.
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  ASSERT_TRUE(p->set_result_callback([&](const FrameResult&) {
                 std::unique_lock<std::mutex> lock(mu);
                 cv.wait_for(lock, 20s, [&] { return open; });
               }).is_ok());
  ASSERT_TRUE(p->start().is_ok());
  const Image& img = still();
  std::atomic<int> released{0};
  int ok = 0, dropped = 0;
  for (int i = 0; i < 20; ++i) {
    const Status s = p->push_frame("a", img.view(), i * 100000, [&] { released++; });
    if (s.is_ok()) {
      ++ok;
    } else {
      ASSERT_EQ(s.code(), StatusCode::kPoolExhausted) << s.message();
      EXPECT_NE(s.message().find("dropped"), std::string::npos) << s.message();
      ++dropped;
      EXPECT_EQ(released.load(), i + 1 - ok) << "a dropped frame is released before the return";
    }
    if (i == 0) std::this_thread::sleep_for(300ms);  // frame 0 reaches the blocked callback
  }
  EXPECT_GT(dropped, 10);
  {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
  }
  cv.notify_all();
  ASSERT_TRUE(p->stop(true).is_ok());
  EXPECT_EQ(released.load(), 20) << "every release ran exactly once";
  const ChannelStats s = p->stats().channels.at(0);
  EXPECT_EQ(s.decoded, 20u);
  EXPECT_EQ(s.processed, static_cast<uint64_t>(ok));
  EXPECT_EQ(s.dropped_by_reason.at("queue_full"), static_cast<uint64_t>(dropped));
}

TEST(PipelineControl, StatsAreFrozenAtStop) {
  auto p = make(config(push_channel("a")));
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->start().is_ok());
  const Image& img = still();
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(p->push_frame("a", img.view(), i * 100000, nullptr).is_ok());
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(p->stop(true).is_ok());
  const PipelineStats at_stop = p->stats();
  ASSERT_GT(at_stop.channels.at(0).fps, 0);
  std::this_thread::sleep_for(2200ms);  // past two of the rate window's one-second buckets
  const PipelineStats later = p->stats();
  EXPECT_EQ(later.channels.at(0).fps, at_stop.channels.at(0).fps);
  EXPECT_EQ(later.analytics.fps, at_stop.analytics.fps);
  EXPECT_EQ(later.inference.fps, at_stop.inference.fps);
  // A restart measures afresh.
  ASSERT_TRUE(p->start().is_ok());
  EXPECT_EQ(p->stats().channels.at(0).fps, 0);
  ASSERT_TRUE(p->stop(false).is_ok());
}

TEST(PipelineControl, AMediaTimeGapEndsTracksAndRestartsDwell) {
  // A still scene: the same people in the same place on every frame, in a loitering zone over
  // the whole frame with a 5 s dwell. 3 s of frames, a 30 s jump in media time (an outage),
  // then 7 s more.
  const Image& img = still();
  const std::string zone = "[[0, 0], [" + std::to_string(img.width) + ", 0], [" +
                           std::to_string(img.width) + ", " + std::to_string(img.height) +
                           "], [0, " + std::to_string(img.height) + "]]";
  const std::string analytics = R"(, "analytics": {"tracker": {"min_hits": 1}, "rules": {"rules": [
      {"id": "stay", "type": "loitering", "polygon": )" +
                                zone + R"(, "dwell_s": 5}]}})";
  auto p = make(config(push_channel("a", "block", 4, analytics)));
  ASSERT_TRUE(p);
  Events events;
  ASSERT_TRUE(p->set_event_callback([&](const PipelineEvent& e) { events.add(e); }).is_ok());
  std::mutex mu;
  std::map<int64_t, std::set<int64_t>> ids_at;  // media time -> track ids
  ASSERT_TRUE(p->set_result_callback([&](const FrameResult& r) {
                 std::lock_guard<std::mutex> lock(mu);
                 for (const auto& o : r.objects) ids_at[r.ts_us].insert(o.track_id);
               }).is_ok());
  ASSERT_TRUE(p->start().is_ok());
  const int64_t gap_end_us = 33000000;
  for (int64_t t = 0; t < 3000000; t += 200000) {
    ASSERT_TRUE(p->push_frame("a", img.view(), t, nullptr).is_ok());
  }
  for (int64_t t = gap_end_us; t < gap_end_us + 7000000; t += 200000) {
    ASSERT_TRUE(p->push_frame("a", img.view(), t, nullptr).is_ok());
  }
  ASSERT_TRUE(p->stop(true).is_ok());

  std::set<int64_t> before, after, last_before;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [ts, ids] : ids_at) {
      (ts < gap_end_us ? before : after).insert(ids.begin(), ids.end());
      if (ts < gap_end_us) last_before = ids;
    }
  }
  ASSERT_FALSE(before.empty());
  ASSERT_FALSE(after.empty());
  EXPECT_GT(*after.begin(), *before.rbegin()) << "no id from before the gap reappears";
  std::set<int64_t> gap_ended;
  int loiters = 0;
  for (const auto& e : events.of("a")) {
    if (e.kind == "track_end" && e.subkind == "source_gap") {
      gap_ended.insert(e.track_id);
      EXPECT_TRUE(before.count(e.track_id)) << e.track_id;
      EXPECT_LT(e.media_us, gap_end_us) << "tracks end when they were last seen";
    }
    if (e.kind == "rule" && e.subkind == "loitering") {
      ++loiters;
      // The dwell restarts at the gap: nobody has stood 5 s before 33 s + 5 s.
      EXPECT_GE(e.media_us, gap_end_us + 5000000) << "track " << e.track_id;
      EXPECT_TRUE(after.count(e.track_id)) << e.track_id;
    }
    EXPECT_GT(e.wall_us, 0);
  }
  EXPECT_EQ(gap_ended, last_before) << "every track alive before the gap ends at it";
  EXPECT_GT(loiters, 0) << "the people still standing after the gap loiter once 5 s have passed";
}

}  // namespace
}  // namespace vas
