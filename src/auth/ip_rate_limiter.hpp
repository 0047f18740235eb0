#pragma once
/// @brief Per-address sliding-window rate limit (logins, registrations).

#include "util/clock.hpp"

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace solod {

/// Sliding-window limit of attempts per client address (SPEC login_per_ip_per_minute,
/// register_per_ip_per_minute). Addresses are keyed by `address_key`: an IPv6
/// client counts per /64, since one host owns the whole /64.
/// Thread-safe; memory is bounded by pruning idle entries.
class ip_rate_limiter {
public:
  /// Throws std::invalid_argument when `per_minute` < 1.
  ip_rate_limiter(const clock& clk, int per_minute);

  /// Counts one attempt from `ip` (its /64 for IPv6); nothing when allowed, else the
  /// seconds to wait (>= 1).
  std::optional<int> try_acquire(const std::string& ip);

private:
  const clock& clock_;
  int per_minute_;
  std::mutex mtx_;
  std::unordered_map<std::string, std::deque<time_point>> attempts_;
  time_point last_prune_{};
};

} // namespace solod
