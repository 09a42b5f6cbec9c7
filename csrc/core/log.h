// Process-wide logging: one sink for the warnings and notes the core emits (engine risks,
// pipeline source events). By default messages at kWarning and above go to stderr; an
// application can route them elsewhere with set_log_sink (the C API's vas_set_log_callback).
//
// Thread safety: log() may be called from any thread; the sink is called under a lock, one
// message at a time, so a sink needs no locking of its own but must not call log() itself.
#pragma once

#include <string>

namespace vas {

// Values equal the C header's VAS_LOG_* codes.
enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

const char* log_level_name(LogLevel level);

using LogSink = void (*)(LogLevel level, const char* message, void* user);

// Replaces the sink (nullptr restores stderr) and the lowest level that reaches it.
void set_log_sink(LogSink sink, void* user, LogLevel min_level);

bool log_enabled(LogLevel level);
void log(LogLevel level, const std::string& message);

inline void log_warning(const std::string& message) { log(LogLevel::kWarning, message); }
inline void log_info(const std::string& message) { log(LogLevel::kInfo, message); }

}  // namespace vas
