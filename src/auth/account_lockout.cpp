#include "auth/account_lockout.hpp"

#include "util/saturating_time.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace solod {

namespace {

/// How often a node deletes the failures and locks of every account that no
/// longer count. Each failure already forgets its own account's old ones; this
/// catches accounts that never fail again.
constexpr milliseconds prune_interval = std::chrono::minutes{1};

} // namespace

account_lockout::account_lockout(const clock& clk, int threshold, milliseconds window, milliseconds duration)
  : clock_(clk), threshold_(threshold), window_(window), duration_(duration) {
  if (threshold_ < 1 || window_ <= milliseconds::zero() || duration_ <= milliseconds::zero()) {
    throw std::invalid_argument("account lockout needs threshold >= 1 and positive window and duration");
  }
}

bool account_lockout::is_locked(soci::session& sql, std::int64_t user_id) const {
  return lockout_repository(sql).is_locked(user_id, clock_.now());
}

failure_outcome account_lockout::record_failure(soci::session& sql, std::int64_t user_id) {
  const time_point now = clock_.now();
  failure_record failure;
  failure.user_id = user_id;
  failure.at = now;
  // Saturating: a window or duration past the clock's range must not wrap
  // (a wrapped lock would end in the past, a wrapped window forget at once).
  failure.window_start = sub_saturating(now, window_);
  // Nodes' clocks differ a little, so a failure stamped ahead of this node's
  // clock still counts; one a whole window ahead comes from a clock that
  // stepped back, and would lock the owner out for the step.
  failure.horizon = add_saturating(now, window_);
  failure.threshold = threshold_;
  failure.locked_until = add_saturating(now, duration_);
  const auto outcome = lockout_repository(sql).record_failure(failure);
  prune_now_and_then(sql, now);
  return outcome;
}

bool account_lockout::record_success(soci::session& sql, std::int64_t user_id) {
  return lockout_repository(sql).record_success(user_id, clock_.now());
}

void account_lockout::prune_now_and_then(soci::session& sql, time_point now) {
  const long long now_ms = to_unix_ms(now);
  long long due = next_prune_ms_.load();
  if (now_ms < due || !next_prune_ms_.compare_exchange_strong(due, now_ms + prune_interval.count())) {
    return;
  }
  try {
    const auto removed = lockout_repository(sql).prune(sub_saturating(now, window_), now);
    if (removed > 0) {
      spdlog::debug("lockout: pruned {} failure and lock rows that no longer count", removed);
    }
  } catch (const std::exception& e) {
    // The failure itself is recorded; the next prune catches up.
    spdlog::warn("lockout: pruning old failures failed: {}", e.what());
  }
}

} // namespace solod
