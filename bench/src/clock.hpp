#pragma once
/// @brief The one clock of the bench: monotonic nanoseconds, comparable across its processes.

#include <chrono>
#include <cstdint>

namespace bench {

/// Now, in nanoseconds of CLOCK_MONOTONIC (std::chrono::steady_clock on Linux),
/// which every process of the machine shares: workers' stamps compare directly.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// `ns` nanoseconds in seconds.
inline double seconds_of(std::int64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

/// Seconds as nanoseconds.
inline std::int64_t ns_of_seconds(double s) {
  return static_cast<std::int64_t>(s * 1e9);
}

} // namespace bench
