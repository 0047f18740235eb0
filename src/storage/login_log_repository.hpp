#pragma once
/// @brief The `login_logs` table: the audit log.

#include "storage/page_position.hpp"
#include "storage/records.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// Which audit rows a query wants; empty fields match everything.
struct audit_filter {
  std::string username; ///< exact, case-insensitive
  std::string ip;
  std::string event;
  std::vector<std::string> events;    ///< any of these event types (none: all)
  std::optional<std::int64_t> user_id; ///< the rows of one account (by id, not name)
  std::optional<time_point> from; ///< inclusive
  std::optional<time_point> to;   ///< exclusive
};

/// Writes and reads audit rows; every call blocks, so run it on the audit actor or the pool.
class login_log_repository {
public:
  explicit login_log_repository(soci::session& sql) : sql_(sql) {}

  /// Inserts `events`: one vector-bound statement on SQLite, multi-row
  /// INSERTs on PostgreSQL. The caller owns the transaction, so a batch
  /// commits or fails as a whole.
  void insert_batch(const std::vector<audit_event>& events);

  /// Calls `visit` for each matching row, oldest first (timestamp, then id),
  /// without holding them all in memory.
  void for_each(const audit_filter& filter, const std::function<void(const audit_event&)>& visit);

  /// Up to `limit` matching rows, newest first (timestamp, then id), after `after`.
  std::vector<audit_event> page(const audit_filter& filter, std::size_t limit,
                                const std::optional<page_position>& after);

  /// Deletes up to `max_rows` rows older than `cutoff`; returns how many it deleted.
  std::size_t delete_older_than(time_point cutoff, std::size_t max_rows);

private:
  soci::session& sql_;
};

} // namespace solod
