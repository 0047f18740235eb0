#pragma once
/// @brief Per-sender budget for broadcasts (limits.broadcast_bytes_per_second).

#include "util/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace solod {

/// A token bucket per sending user over the bytes of the broadcast frames
/// they send. Every online client receives every broadcast, so this bounds
/// what one user can queue for any other client to the rate plus one burst
/// of one second's worth (plus one message): no sender can push a reader that
/// keeps up with the rate past the slow-consumer limit. Thread-safe.
class broadcast_budget {
public:
  /// Throws std::invalid_argument when `bytes_per_second` is 0.
  broadcast_budget(const clock& clk, std::size_t bytes_per_second);

  /// Spends `bytes` of `user_id`'s budget; false, spending nothing, when the
  /// budget does not cover them. A message bigger than one second's budget
  /// passes when the bucket is full, and its debt is paid off before the next.
  bool try_spend(std::int64_t user_id, std::size_t bytes);

  /// Senders tracked (bounded: full buckets are forgotten).
  std::size_t tracked() const;

private:
  struct bucket {
    double tokens = 0;
    time_point at{};
  };

  void refill(bucket& b, time_point now) const;
  void prune(time_point now);

  const clock& clock_;
  double rate_;
  mutable std::mutex mtx_;
  std::unordered_map<std::int64_t, bucket> buckets_;
  time_point last_prune_{};
};

} // namespace solod
