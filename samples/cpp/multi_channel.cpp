// multi_channel (C++17): the C sample's job through the same C header, with RAII wrappers that
// live in this sample (vasdk ships only the C ABI, so no C++ type crosses the library boundary).
//
//   multi_channel_cpp MODEL.onnx [-t SECONDS] [-l Y] URL_OR_FILE...
#include <vasdk/vasdk.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

// A failed call becomes an exception carrying the library's message.
void check(vas_status_t st, const char* what) {
  if (st != VAS_OK) {
    throw std::runtime_error(std::string(what) + ": " + vas_status_str(st) + ": " +
                             vas_last_error_message());
  }
}

class Pipeline {
 public:
  using EventFn = std::function<void(const vas_pipeline_event_t&)>;

  explicit Pipeline(const std::string& config_json) {
    vas_pipeline_config_t cfg;
    vas_pipeline_config_init(&cfg);
    cfg.config_json = config_json.c_str();
    vas_pipeline_t* raw = nullptr;
    check(vas_pipeline_create(&cfg, &raw), "vas_pipeline_create");
    handle_.reset(raw);
  }

  // The callback runs on pipeline worker threads, one call at a time per channel.
  void on_event(EventFn fn) {
    on_event_ = std::move(fn);
    check(vas_pipeline_set_event_callback(
              handle_.get(),
              [](const vas_pipeline_event_t* e, void* self) {
                static_cast<Pipeline*>(self)->on_event_(*e);
              },
              this),
          "vas_pipeline_set_event_callback");
  }
  void start() { check(vas_pipeline_start(handle_.get()), "vas_pipeline_start"); }
  void stop(bool drain) {
    check(vas_pipeline_stop(handle_.get(), drain ? 1 : 0), "vas_pipeline_stop");
  }
  std::string stats() const {
    const char* json = nullptr;
    check(vas_pipeline_stats_json(handle_.get(), &json), "vas_pipeline_stats_json");
    return json;
  }

 private:
  struct Destroy {
    void operator()(vas_pipeline_t* p) const { vas_pipeline_destroy(p); }
  };
  std::unique_ptr<vas_pipeline_t, Destroy> handle_;
  EventFn on_event_;
};

std::string channel_json(int index, const std::string& url, int line_y) {
  const bool rtsp = url.rfind("rtsp://", 0) == 0;
  const std::string y = std::to_string(line_y);
  return "{\"id\": \"cam" + std::to_string(index) + "\", \"source\": {\"url\": \"" + url +
         "\", \"realtime\": " + (rtsp ? "false" : "true") +
         "}, \"analytics\": {\"tracker\": {\"type\": \"bytetrack\"}, \"rules\": {\"rules\": ["
         "{\"id\": \"line\", \"type\": \"line_crossing\", \"line\": [[0, " +
         y + "], [4000, " + y +
         "]]}, {\"id\": \"zone\", \"type\": \"intrusion\", \"polygon\": "
         "[[0, 0], [380, 0], [380, 576], [0, 576]]}]}}}";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.onnx [-t SECONDS] [-l Y] URL_OR_FILE...\n", argv[0]);
    return 2;
  }
  double seconds = 0;
  int line_y = 300, first = 2;
  for (; first + 1 < argc && argv[first][0] == '-'; first += 2) {
    if (std::string(argv[first]) == "-t") seconds = std::atof(argv[first + 1]);
    if (std::string(argv[first]) == "-l") line_y = std::atoi(argv[first + 1]);
  }
  std::string config = std::string("{\"models\": {\"detector\": {\"model\": \"") + argv[1] +
                       "\", \"options\": {\"classes\": [\"person\", \"car\", \"truck\"]}}}, "
                       "\"channels\": [";
  for (int i = first; i < argc; ++i) {
    config += (i == first ? "" : ", ") + channel_json(i - first, argv[i], line_y);
  }
  config += "]}";
  try {
    Pipeline pipe(config);
    pipe.on_event([](const vas_pipeline_event_t& e) {
      if (std::string(e.kind) == "rule") {
        std::printf("event %s %s %s track %lld\n", e.channel, e.rule_id, e.subkind,
                    static_cast<long long>(e.track_id));
        std::fflush(stdout);
      }
    });
    std::signal(SIGINT, [](int) { g_stop = true; });
    pipe.start();
    const auto t0 = std::chrono::steady_clock::now();
    auto next = t0 + std::chrono::seconds(1);
    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const auto now = std::chrono::steady_clock::now();
      if (seconds > 0 && now - t0 >= std::chrono::duration<double>(seconds)) break;
      if (now >= next) {
        std::printf("stats %s\n", pipe.stats().c_str());
        std::fflush(stdout);
        next += std::chrono::seconds(1);
      }
    }
    pipe.stop(/*drain=*/!g_stop);
    std::printf("final %s\n", pipe.stats().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
