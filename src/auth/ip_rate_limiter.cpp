#include "auth/ip_rate_limiter.hpp"

#include "auth/sliding_window.hpp"
#include "util/address_key.hpp"

#include <stdexcept>

namespace solod {

namespace {

constexpr milliseconds rate_window{60'000};

} // namespace

ip_rate_limiter::ip_rate_limiter(const clock& clk, int per_minute) : clock_(clk), per_minute_(per_minute) {
  // 0 would refuse every login with no attempt to wait for; the config layer must not pass it.
  if (per_minute_ < 1) {
    throw std::invalid_argument("a rate limit must allow at least one attempt per minute");
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

  auto& stamps = attempts_[address_key(ip)];
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

} // namespace solod
