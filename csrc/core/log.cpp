#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace vas {
namespace {

void stderr_sink(LogLevel level, const char* message, void* /*user*/) {
  std::fprintf(stderr, "vasdk: %s: %s\n", log_level_name(level), message);
}

struct Logger {
  std::mutex mu;
  LogSink sink = stderr_sink;  // guarded by mu
  void* user = nullptr;        // guarded by mu
  std::atomic<int> min_level{static_cast<int>(LogLevel::kWarn)};
};

Logger& logger() {
  // Leaked on purpose: threads may still log while static destructors run at exit.
  static Logger* l = new Logger();
  return *l;
}

// Set while this thread runs the sink: a sink that logs or swaps the sink would deadlock.
thread_local bool t_in_sink = false;

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "unknown";
}

Status set_log_sink(LogSink sink, void* user, LogLevel min_level) {
  const int lv = static_cast<int>(min_level);
  if (lv < static_cast<int>(LogLevel::kDebug) || lv > static_cast<int>(LogLevel::kOff)) {
    return invalid_argument("log level " + std::to_string(lv) + " is outside 0..4");
  }
  if (t_in_sink) return invalid_argument("the log sink cannot be changed from inside the sink");
  Logger& l = logger();
  std::lock_guard<std::mutex> lock(l.mu);
  l.sink = sink ? sink : stderr_sink;
  l.user = sink ? user : nullptr;
  l.min_level.store(lv, std::memory_order_relaxed);
  return Status::ok();
}

bool log_enabled(LogLevel level) {
  return level != LogLevel::kOff &&
         static_cast<int>(level) >= logger().min_level.load(std::memory_order_relaxed);
}

void log(LogLevel level, const std::string& message) {
  if (!log_enabled(level) || t_in_sink) return;
  Logger& l = logger();
  std::lock_guard<std::mutex> lock(l.mu);
  if (static_cast<int>(level) < l.min_level.load(std::memory_order_relaxed)) return;
  t_in_sink = true;
  try {
    l.sink(level, message.c_str(), l.user);
  } catch (...) {  // a C++ sink that throws must not take the logging thread down
  }
  t_in_sink = false;
}

}  // namespace vas
