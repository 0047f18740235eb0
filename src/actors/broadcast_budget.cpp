#include "actors/broadcast_budget.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace solod {

broadcast_budget::broadcast_budget(const clock& clk, std::size_t bytes_per_second)
  : clock_(clk), rate_(static_cast<double>(bytes_per_second)) {
  if (bytes_per_second == 0) {
    throw std::invalid_argument("a broadcast budget must allow some bytes per second");
  }
}

void broadcast_budget::refill(bucket& b, time_point now) const {
  // A wall clock stepping back refills nothing; the bucket just waits.
  if (now > b.at) {
    const double seconds = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(rate_, b.tokens + seconds * rate_);
    b.at = now;
  }
}

void broadcast_budget::prune(time_point now) {
  if (now - last_prune_ < std::chrono::seconds{10} && now >= last_prune_) {
    return;
  }
  last_prune_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    // A full bucket is what a new sender gets: nothing to remember.
    it = it->second.tokens >= rate_ ? buckets_.erase(it) : std::next(it);
  }
}

bool broadcast_budget::try_spend(std::int64_t user_id, std::size_t bytes) {
  std::lock_guard lock{mtx_};
  const time_point now = clock_.now();
  prune(now);
  auto [it, fresh] = buckets_.try_emplace(user_id, bucket{rate_, now});
  bucket& b = it->second;
  if (!fresh) {
    refill(b, now);
  }
  const double cost = static_cast<double>(bytes);
  if (b.tokens >= cost || b.tokens >= rate_) {
    b.tokens -= cost;
    return true;
  }
  return false;
}

std::size_t broadcast_budget::tracked() const {
  std::lock_guard lock{mtx_};
  return buckets_.size();
}

} // namespace solod
