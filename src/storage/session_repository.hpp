#pragma once
/// @brief The `sessions` table: one row per login, at most one live per user.

#include "storage/records.hpp"

#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

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

  /// Every live session, joined with its username (to rebuild memory on start).
  std::vector<session_record> load_live();

  /// The session with id `id`.
  std::optional<session_record> find(const std::string& id);

private:
  soci::session& sql_;
};

} // namespace solod
