// Process-wide logging: one sink (default: stderr) and a minimum level. Library code logs what
// a caller cannot learn from a return value: a pool destroyed with buffers out, a camera that
// dropped and reconnected, a sink that lost messages.
//
// Thread safety: every function may be called from any thread. A sink runs on the thread that
// logs, under the logger's lock (so two messages never interleave and, once set_log_sink()
// returns, the old sink is never called again); it must not log or set the sink itself: such
// re-entrant calls are refused (set_log_sink returns kInvalidArgument, log() drops the message)
// rather than deadlocking.
#pragma once

#include <string>

#include "core/status.h"

namespace vas {

// Values equal the C header's VAS_LOG_* levels.
enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

const char* log_level_name(LogLevel level);

using LogSink = void (*)(LogLevel level, const char* message, void* user);

// Routes messages at min_level and above to sink(level, message, user). sink == nullptr
// restores the default (stderr, "vasdk: <level>: <message>") at the given level.
Status set_log_sink(LogSink sink, void* user, LogLevel min_level);

// True if a message at `level` would be delivered (cheap: one relaxed atomic load).
bool log_enabled(LogLevel level);

void log(LogLevel level, const std::string& message);

inline void log_debug(const std::string& m) { log(LogLevel::kDebug, m); }
inline void log_info(const std::string& m) { log(LogLevel::kInfo, m); }
inline void log_warn(const std::string& m) { log(LogLevel::kWarn, m); }
inline void log_error(const std::string& m) { log(LogLevel::kError, m); }

}  // namespace vas
