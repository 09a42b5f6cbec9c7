// CPU time clocks for per-stage accounting: what a thread or the whole process has burnt, as
// opposed to wall time, which counts waiting and preemption on a busy machine.
#pragma once

#include <time.h>

#include <cstdint>

namespace vas {

// CPU time the calling thread has used, in ns (CLOCK_THREAD_CPUTIME_ID; 0 if unavailable).
inline uint64_t thread_cpu_ns() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// CPU time of every thread of the process, in ns (CLOCK_PROCESS_CPUTIME_ID; 0 if unavailable).
inline uint64_t process_cpu_ns() {
  timespec ts{};
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace vas
