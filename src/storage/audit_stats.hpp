#pragma once
/// @brief Statistics of the audit log and the sessions table per UTC hour or
/// day, read from a cache of closed hours that is derived from those tables.

#include "storage/failure_ranking.hpp"
#include "util/clock.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// The width of one bucket of a statistics report; buckets are aligned to UTC.
enum class stats_bucket { hour, day };

/// The counts of one bucket.
struct stats_counts {
  std::map<std::string, std::int64_t> events;   ///< audit rows by event_type
  std::map<std::string, std::int64_t> failures; ///< login_failure rows by error_message
  std::int64_t new_sessions = 0;                ///< sessions whose login_ts falls in the bucket
  /// The most sessions live at one instant t of the bucket (login_ts <= t < logout_ts).
  std::int64_t peak_live = 0;
};

/// One bucket: its span (clipped to the report's range) and counts.
struct stats_slice {
  time_point start{};
  time_point end{};
  stats_counts counts;
};

/// A whole report over [from, to).
struct stats_report {
  std::vector<stats_slice> buckets;
  std::vector<failure_count> top_ips;   ///< most failures first, then by name
  std::vector<failure_count> top_users; ///< lower-cased usernames
};

/// Reads statistics. Closed hours are computed once from `login_logs` and
/// `sessions` and kept in `stats_hours` and `stats_events` (the top failures:
/// failure_ranking);
/// the hours at the range's edges and the last minutes are computed live, so
/// a report always equals what direct SQL over the tables gives. Every call
/// blocks: run it on the database pool.
class audit_stats {
public:
  /// How long after its end an hour is cached: rows stamped in it may still be in flight.
  static constexpr std::chrono::minutes settle{5};
  explicit audit_stats(soci::session& sql) : sql_(sql) {}

  /// The report over [from, to) (from < to), in buckets of `bucket`; `now`
  /// decides which hours are closed enough to cache.
  stats_report report(time_point from, time_point to, stats_bucket bucket, time_point now);

private:
  soci::session& sql_;
};

/// Forgets the cached hours from the one holding `t` on: a row stamped `t`
/// is being written, and the live counts of every later hour depend on it.
/// Costs one indexed DELETE that normally matches nothing (the current hour is
/// never cached); call it inside the writing transaction.
void forget_stats_from(soci::session& sql, time_point t);

/// Forgets the cached hours (and days) holding any of `stamps`, their rows
/// included (rows rewritten in place, such as an erasure's pseudonyms: no
/// copy of the old values may stay).
void forget_stats_hours(soci::session& sql, const std::vector<time_point>& stamps);

/// On PostgreSQL, refreshes the planner's statistics of the cache tables:
/// a freshly filled cache would otherwise be planned as empty (index walks
/// and sorts on disk) until autovacuum comes by. Nothing on SQLite.
void analyze_stats_cache(soci::session& sql);

/// Forgets the cached hours before `cutoff` and the one holding it (rows deleted by retention).
void forget_stats_before(soci::session& sql, time_point cutoff);

} // namespace solod
