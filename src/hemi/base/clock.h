// Wall and CPU time for the phase timings every layer reports.
#pragma once

#include <chrono>
#include <ctime>

namespace hemi {

// Seconds of wall time since t0 (steady clock).
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Seconds of CPU time this process has used so far, all threads together.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace hemi
