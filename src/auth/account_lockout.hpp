#pragma once
/// @brief Per-account lockout after repeated failed logins, shared by every node through the database.

#include "storage/lockout_repository.hpp"
#include "util/clock.hpp"

#include <atomic>
#include <cstdint>

namespace soci {
class session;
}

namespace solod {

/// The lockout policy: `threshold` failures within `window` lock the account
/// for `duration`. The failures and locks live in the database
/// (lockout_repository), so the failures of one account count on every node
/// and survive a restart; this class holds the settings and the clock. Every
/// call takes a connection and blocks: run it on the database pool. Thread-safe.
class account_lockout {
public:
  /// Throws std::invalid_argument unless threshold >= 1 and window and duration are positive.
  account_lockout(const clock& clk, int threshold, milliseconds window, milliseconds duration);

  /// True while `user_id` is locked.
  bool is_locked(soci::session& sql, std::int64_t user_id) const;

  /// Records a failed login of `user_id`: whether it counted, locked the
  /// account (to audit `account_locked`), or came while it was locked (then
  /// it neither counts nor extends the lock). Now and then also prunes the
  /// failures and locks of every account that no longer matter.
  failure_outcome record_failure(soci::session& sql, std::int64_t user_id);

  /// A right password for `user_id`: false while the account is locked (the
  /// login fails); otherwise clears its failures and true.
  bool record_success(soci::session& sql, std::int64_t user_id);

private:
  void prune_now_and_then(soci::session& sql, time_point now);

  const clock& clock_;
  int threshold_;
  milliseconds window_;
  milliseconds duration_;
  /// When this node prunes next (ms since the epoch).
  std::atomic<long long> next_prune_ms_{0};
};

} // namespace solod
