#include "auth/account_lockout.hpp"

#include "auth/sliding_window.hpp"
#include "util/saturating_time.hpp"

#include <stdexcept>

namespace solod {

account_lockout::account_lockout(const clock& clk, int threshold, milliseconds window, milliseconds duration)
  : clock_(clk), threshold_(threshold), window_(window), duration_(duration) {
  if (threshold_ < 1 || window_ <= milliseconds::zero() || duration_ <= milliseconds::zero()) {
    throw std::invalid_argument("account lockout needs threshold >= 1 and positive window and duration");
  }
}

bool account_lockout::is_locked(std::int64_t user_id) {
  std::lock_guard lock{mtx_};
  const auto it = entries_.find(user_id);
  if (it == entries_.end()) {
    return false;
  }
  const time_point now = clock_.now();
  if (now < it->second.locked_until) {
    return true;
  }
  // Drop entries that no longer hold anything, so the map stays small.
  forget_outside(it->second.failures, now, window_);
  if (it->second.failures.empty()) {
    entries_.erase(it);
  }
  return false;
}

bool account_lockout::record_failure(std::int64_t user_id) {
  std::lock_guard lock{mtx_};
  const time_point now = clock_.now();
  entry& e = entries_[user_id];
  if (now < e.locked_until) {
    // Failures during a lock neither count nor extend it: an attacker cannot keep
    // the owner out forever by guessing on.
    return false;
  }
  forget_outside(e.failures, now, window_);
  e.failures.push_back(now);
  if (e.failures.size() >= static_cast<std::size_t>(threshold_)) {
    e.locked_until = add_saturating(now, duration_);
    e.failures.clear();
    return true;
  }
  return false;
}

void account_lockout::record_success(std::int64_t user_id) {
  std::lock_guard lock{mtx_};
  const auto it = entries_.find(user_id);
  if (it == entries_.end()) {
    return;
  }
  it->second.failures.clear();
  if (clock_.now() >= it->second.locked_until) {
    entries_.erase(it);
  }
}

} // namespace solod
