#pragma once
/// @brief One account's own records, read by id: its login summary, its
/// recent activity, and everything held about it (a data-subject export).

#include "storage/records.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// The classic `user_login_summary`, for one user.
struct login_summary {
  std::int64_t logins_total = 0; ///< login_success rows
  std::int64_t failures_24h = 0; ///< login_failure rows of the last 24 hours
};

/// One row of a user's recent activity, with how its session ended (logins).
struct activity_entry {
  audit_event event;
  std::optional<session_record> session; ///< the session a login_success started
};

/// The audit event types a user sees as their own activity.
const std::vector<std::string>& activity_event_types();

/// Reads one account's rows; every call blocks, so run it on the database pool.
class user_activity {
public:
  explicit user_activity(soci::session& sql) : sql_(sql) {}

  /// The summary of each of `ids` (indexed by user id; two counts each).
  std::map<std::int64_t, login_summary> summaries(const std::vector<std::int64_t>& ids, time_point now);

  /// The user's last `limit` logins, failures, kicks and logouts, newest first.
  std::vector<activity_entry> recent(std::int64_t user_id, std::size_t limit);

  /// Every audit row of the user (by user id), newest first.
  std::vector<audit_event> audit_rows(std::int64_t user_id);

  /// Every session row of the user, newest first.
  std::vector<session_record> sessions(std::int64_t user_id);

private:
  soci::session& sql_;
};

} // namespace solod
