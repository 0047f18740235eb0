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
  std::string username; ///< case-insensitive
  std::string ip;
  std::optional<time_point> from; ///< login_ts, inclusive
  std::optional<time_point> to;   ///< login_ts, exclusive
};

/// Reads and writes sessions; every call blocks, so run it on the database pool.
class session_repository {
public:
  explicit session_repository(soci::session& sql) : sql_(sql) {}

  /// In one transaction: ends the user's live session (if any) with
  /// `old_reason`, inserts `s` as the new live session and stamps the user's
  /// last login. Returns the id of the session it ended.
  std::optional<std::string> start(const session_record& s, const std::string& old_reason);

  /// Ends session `id` if it is still live; false when it was not.
  bool end(const std::string& id, const std::string& reason, time_point at);

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
