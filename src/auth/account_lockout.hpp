#pragma once
/// @brief Per-account lockout after repeated failed logins.

#include "util/clock.hpp"

#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace solod {

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
