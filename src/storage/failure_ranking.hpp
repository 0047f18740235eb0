#pragma once
/// @brief The addresses and usernames with the most failed logins over a
/// range, exact: cached hours (summed into cached days where whole) plus the
/// counts of the hours read from the log.

#include "util/clock.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// A name and how many login failures it had.
using failure_count = std::pair<std::string, std::int64_t>;

/// Failures by name (an IP address or a lower-cased username).
using name_counts = std::map<std::string, std::int64_t>;

/// The two top lists of one range.
struct failure_tops {
  std::vector<failure_count> ips;   ///< most failures first, then by name
  std::vector<failure_count> users; ///< lower-cased usernames, likewise
};

/// Adds the `login_failure` rows of [from, to) by IP address and by
/// lower-cased username (empty ones left out), from the log.
void count_failures(soci::session& sql, time_point from, time_point to, name_counts& ips,
                    name_counts& users);

/// Ranks failures. The hours audit_stats cached hold their failures in
/// `stats_hour_failures`; each whole UTC day among them is summed once into
/// `stats_day_failures` (a month of days holds about half the rows of a month
/// of hours: a name fails in several hours of a day), so a month's top lists
/// group the days' rows and the few hours at the edges. Blocks.
class failure_ranking {
public:
  /// Entries of each list.
  static constexpr std::size_t top_n = 10;

  explicit failure_ranking(soci::session& sql) : sql_(sql) {}

  /// The top lists of the cached hours in `cached` ([first, end), whole
  /// hours; none: nothing cached) plus the counts of the other hours.
  failure_tops rank(const std::optional<std::pair<time_point, time_point>>& cached,
                    const name_counts& live_ips, const name_counts& live_users);

private:
  soci::session& sql_;
};

/// On PostgreSQL, orders a cache fill against the forgetting of what it reads
/// (a transaction-scoped advisory lock: exclusive to fill, shared to forget),
/// so a fill that read before a late row or an erasure never lands after it.
/// SQLite's write transactions are serialized already. Call inside a transaction.
void lock_stats_cache(soci::session& sql, bool exclusive);

/// Forgets the cached days from the one holding `t` on (see forget_stats_from).
void forget_failure_days_from(soci::session& sql, time_point t);

/// Forgets the cached days holding any of `stamps`.
void forget_failure_days(soci::session& sql, const std::vector<time_point>& stamps);

/// Forgets the cached days up to the one holding `cutoff`, and the hours' rows before it.
void forget_failure_days_before(soci::session& sql, time_point cutoff);

} // namespace solod
