#pragma once
/// @brief The `sessions` table: one row per login, at most one live per user.

#include "storage/page_position.hpp"
#include "storage/records.hpp"

#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// Which sessions a listing wants; empty fields match everything.
struct session_filter {
  bool active_only = false;
  bool ended_only = false;
  std::string end_reason; ///< exact
  std::optional<std::int64_t> user_id;
  std::string username; ///< case-insensitive
  std::string ip;
  std::optional<time_point> from; ///< login_ts, inclusive
  std::optional<time_point> to;   ///< login_ts, exclusive
};

/// What a login does to a session that is still live.
enum class live_policy {
  replace, ///< end it (kick_old)
  refuse   ///< keep it and start nothing, unless it has expired (deny_new)
};

/// What session_repository::start did.
struct start_result {
  bool started = true;               ///< false: refused, a session is live (or the account closed)
  bool account_closed = false;       ///< refused: disabled or erased since the password was checked
  std::optional<std::string> ended;  ///< the session it ended
};

/// Reads and writes sessions; every call blocks, so run it on the database pool.
/// Every change is announced to the other nodes in its own transaction (cluster_news).
class session_repository {
public:
  explicit session_repository(soci::session& sql) : sql_(sql) {}

  /// Refuses (account_closed) when the user is no longer active. Otherwise, in
  /// one transaction, holding the user's row lock (so concurrent logins of
  /// one user on several nodes apply one after the other): applies `policy`
  /// to the user's live session (ended with `old_reason`, or an expired one
  /// with `expired`), inserts `s` as the new live session and stamps the
  /// user's last login.
  start_result start(const session_record& s, const std::string& old_reason,
                     live_policy policy = live_policy::replace);

  /// Ends session `id` if it is still live; false when it was not (another
  /// node or an earlier call ended it, and announced it).
  bool end(const std::string& id, const std::string& reason, time_point at);

  /// Ends session `id` for idleness if it is still live, no node holds a
  /// connection of it, and no node has seen it since `idle_since`; false otherwise.
  bool end_if_idle(const std::string& id, time_point idle_since, time_point at);

  /// Stamps `last_seen` of each session (requests this node served), never backwards.
  void touch(const std::vector<std::pair<std::string, time_point>>& seen);

  /// Of `ids`, those whose row has ended, with their end_reason: dead for
  /// sure, since an end is never undone.
  std::vector<std::pair<std::string, std::string>> ended_among(const std::vector<std::string>& ids);

  /// In one transaction: ends every live session of `user_id` except `keep_id`
  /// (may be empty) with `reason`; returns the sessions it ended (an actor of
  /// the user failed, so memory no longer vouches for them).
  std::vector<session_record> end_live_of(std::int64_t user_id, const std::string& keep_id,
                                          const std::string& reason, time_point at);

  /// Every live session, joined with its username (to rebuild memory on start).
  std::vector<session_record> load_live();

  /// The session with id `id`.
  std::optional<session_record> find(const std::string& id);

  /// Up to `limit` matching sessions, newest login first, after `after`.
  std::vector<session_record> page(const session_filter& filter, std::size_t limit,
                                   const std::optional<page_position>& after);

  /// Blanks IP and User-Agent of up to `max_rows` ended sessions that began
  /// before `cutoff` (retention); returns how many it changed.
  std::size_t anonymise_older_than(time_point cutoff, std::size_t max_rows);

private:
  soci::session& sql_;
};

} // namespace solod
