#pragma once
/// @brief Brute-force defences: a per-IP login rate limit and per-account lockout.

#include "util/clock.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace solod {

/// Sliding-window limit of login attempts per client IP (SPEC login_per_ip_per_minute).
/// Thread-safe; memory is bounded by pruning idle entries.
class ip_rate_limiter {
public:
  /// Throws std::invalid_argument when `per_minute` < 1.
  ip_rate_limiter(const clock& clk, int per_minute);

  /// Counts one attempt from `ip`; nothing when allowed, else the seconds to wait (>= 1).
  std::optional<int> try_acquire(const std::string& ip);

private:
  const clock& clock_;
  int per_minute_;
  std::mutex mtx_;
  std::unordered_map<std::string, std::deque<time_point>> attempts_;
  time_point last_prune_{};
};

/// Per-account lockout: `threshold` failures within `window` lock the account for `duration`.
/// Thread-safe. Keys are user ids.
class account_lockout {
public:
  /// Throws std::invalid_argument unless threshold >= 1 and window and duration are positive.
  account_lockout(const clock& clk, int threshold, milliseconds window, milliseconds duration);

  /// True while `user_id` is locked.
  bool is_locked(std::int64_t user_id);

  /// Records a failure; true when this failure locks the account (to audit `account_locked`).
  /// Failures while locked are ignored: they neither extend the lock nor count afterwards.
  bool record_failure(std::int64_t user_id);

  /// Clears the failures of `user_id` after a successful login.
  void record_success(std::int64_t user_id);

private:
  struct entry {
    std::deque<time_point> failures;
    time_point locked_until{};
  };
  const clock& clock_;
  int threshold_;
  milliseconds window_;
  milliseconds duration_;
  std::mutex mtx_;
  std::unordered_map<std::int64_t, entry> entries_;
};

} // namespace solod
