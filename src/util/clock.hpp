#pragma once
/// @brief The one clock of solod: wall time that tests can move.

#include <atomic>
#include <chrono>

namespace solod {

using time_point = std::chrono::system_clock::time_point;
using milliseconds = std::chrono::milliseconds;

/// Source of the current wall time; every component asks this, never the OS.
class clock {
public:
  virtual ~clock() = default;
  /// The current time.
  virtual time_point now() const = 0;
};

/// The real clock.
class system_clock final : public clock {
public:
  time_point now() const override { return std::chrono::system_clock::now(); }
};

/// A clock that only moves when a test moves it.
class manual_clock final : public clock {
public:
  explicit manual_clock(time_point start = time_point{std::chrono::seconds{1'800'000'000}})
    : now_ms_(std::chrono::duration_cast<milliseconds>(start.time_since_epoch()).count()) {}
  time_point now() const override { return time_point{milliseconds{now_ms_.load()}}; }
  /// Moves the clock forward by `d`.
  void advance(milliseconds d) { now_ms_ += d.count(); }
  /// Sets the clock to `t`.
  void set(time_point t) {
    now_ms_ = std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
  }

private:
  std::atomic<long long> now_ms_;
};

/// Milliseconds since the Unix epoch.
inline long long to_unix_ms(time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

/// Seconds since the Unix epoch.
inline long long to_unix_seconds(time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

} // namespace solod
