#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace vas {
namespace {

struct SinkState {
  std::mutex mu;
  LogSink sink = nullptr;
  void* user = nullptr;
  std::atomic<int> min_level{static_cast<int>(LogLevel::kWarning)};
};

SinkState& state() {
  static SinkState* s = new SinkState;  // never destroyed: threads may log during exit
  return *s;
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

void set_log_sink(LogSink sink, void* user, LogLevel min_level) {
  SinkState& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.sink = sink;
  s.user = user;
  s.min_level.store(static_cast<int>(min_level), std::memory_order_relaxed);
}

bool log_enabled(LogLevel level) {
  return static_cast<int>(level) >= state().min_level.load(std::memory_order_relaxed);
}

void log(LogLevel level, const std::string& message) {
  if (!log_enabled(level)) return;
  SinkState& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.sink) {
    s.sink(level, message.c_str(), s.user);
  } else {
    std::fprintf(stderr, "vasdk: %s: %s\n", log_level_name(level), message.c_str());
  }
}

}  // namespace vas
