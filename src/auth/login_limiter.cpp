#include "auth/login_limiter.hpp"

#include "util/saturating_time.hpp"

#include <stdexcept>

namespace solod {

namespace {

constexpr milliseconds rate_window{60'000};

/// Drops attempts that have left the window ending at `now`, and any stamped after
/// `now`: the wall clock stepped back, and keeping them would lock clients out for the step.
void forget_outside(std::deque<time_point>& stamps, time_point now, milliseconds window) {
  // Compared in the window's unit: a long configured window converted to
  // the clock's nanoseconds would overflow.
  while (!stamps.empty() &&
         std::chrono::duration_cast<milliseconds>(now - stamps.front()) >= window) {
    stamps.pop_front();
  }
  while (!stamps.empty() && stamps.back() > now) {
    stamps.pop_back();
  }
}

} // namespace

// -- ip_rate_limiter ------------------------------------------------------------

ip_rate_limiter::ip_rate_limiter(const clock& clk, int per_minute) : clock_(clk), per_minute_(per_minute) {
  // 0 would refuse every login with no attempt to wait for; the config layer must not pass it.
  if (per_minute_ < 1) {
    throw std::invalid_argument("login rate limit must allow at least one attempt per minute");
  }
}

std::optional<int> ip_rate_limiter::try_acquire(const std::string& ip) {
  std::lock_guard lock{mtx_};
  const time_point now = clock_.now();

  // Sweep idle IPs at most once a window, so the map holds only recently active
  // clients without costing a full scan per attempt.
  if (now - last_prune_ >= rate_window || now < last_prune_) {
    for (auto it = attempts_.begin(); it != attempts_.end();) {
      forget_outside(it->second, now, rate_window);
      if (it->second.empty()) {
        it = attempts_.erase(it);
      } else {
        ++it;
      }
    }
    last_prune_ = now;
  }

  auto& stamps = attempts_[ip];
  forget_outside(stamps, now, rate_window);
  if (stamps.size() >= static_cast<std::size_t>(per_minute_)) {
    // Refused attempts are not recorded: the client may retry as soon as the oldest leaves.
    const auto wait = stamps.front() + rate_window - now;
    const long long secs = std::chrono::ceil<std::chrono::seconds>(wait).count();
    return static_cast<int>(secs < 1 ? 1 : secs);
  }
  stamps.push_back(now);
  return std::nullopt;
}

// -- account_lockout ------------------------------------------------------------

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
