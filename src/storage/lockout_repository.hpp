#pragma once
/// @brief The shared lockout's tables: `login_failures` and `account_locks`.

#include "util/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace soci {
class session;
}

namespace solod {

/// What one failed login did to its account.
enum class failure_outcome {
  counted,     ///< recorded; the account stays open
  locks_now,   ///< this failure reached the threshold: the account is locked from now on
  while_locked ///< the account was already locked: nothing recorded, the lock unchanged
};

/// One failed login, as the lockout policy sees it.
struct failure_record {
  std::int64_t user_id = 0;
  time_point at;                 ///< the failure's time (now)
  time_point window_start;       ///< failures at or before this no longer count
  time_point horizon;            ///< failures stamped after this are bogus (a clock stepped back)
  int threshold = 1;             ///< failures in the window that lock the account
  time_point locked_until;       ///< the lock's end should this failure lock
};

/// Reads and writes the lockout rows that every node shares, so the failures
/// of one account count wherever they happen. Times are ISO-8601 text, so the
/// comparisons run in SQL on SQLite and PostgreSQL alike. Every call blocks:
/// run it on the database pool.
class lockout_repository {
public:
  explicit lockout_repository(soci::session& sql) : sql_(sql) {}

  /// True while `user_id` is locked at `now`.
  bool is_locked(std::int64_t user_id, time_point now);

  /// In one transaction that holds the user's row (so concurrent failures on
  /// several nodes count one after the other): nothing while locked;
  /// otherwise forgets the user's failures outside the window (before it, or
  /// after `horizon`), records this one, and on reaching the threshold locks the account and clears its
  /// failures (a full threshold is needed again after the lock).
  failure_outcome record_failure(const failure_record& failure);

  /// A right password at `now`: false while the account is locked (the login
  /// fails); otherwise clears the user's failures and true. Writes only when
  /// there is something to clear.
  bool record_success(std::int64_t user_id, time_point now);

  /// Deletes every failure at or before `window_start` and every lock ended by
  /// `now`, whoever they belong to; returns the rows deleted.
  std::size_t prune(time_point window_start, time_point now);

private:
  void lock_user_row(long long user_id);
  bool locked_at(long long user_id, const std::string& now);

  soci::session& sql_;
};

} // namespace solod
