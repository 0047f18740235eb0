#pragma once
/// @brief The `users` table.

#include "storage/records.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// Reads and writes users; every call blocks, so run it on the database pool.
class user_repository {
public:
  explicit user_repository(soci::session& sql) : sql_(sql) {}

  /// The user named `username`, compared case-insensitively.
  std::optional<user_record> find_by_username(const std::string& username);

  /// The user with id `id`.
  std::optional<user_record> find_by_id(std::int64_t id);

  /// Inserts `user` (its id is assigned; created_at, and last_login when set,
  /// are kept); nothing when the name is taken.
  std::optional<user_record> insert(const user_record& user);

  /// Replaces the password hash; false when there is no such user.
  bool set_password(std::int64_t id, const std::string& password_hash);

  /// Replaces the password hash only while it is still `expected` (a login's
  /// upgrade of an imported hash must not undo a password set meanwhile);
  /// false when it was not replaced.
  bool replace_password_hash(std::int64_t id, const std::string& expected,
                             const std::string& password_hash);

  /// Enables or disables the account; false when there is no such user.
  bool set_active(std::int64_t id, bool active);

  /// Grants or revokes admin; false when there is no such user.
  bool set_admin(std::int64_t id, bool admin);

  /// Users whose name, full name or email contains `q` (case-insensitive; all
  /// when empty), by id, `limit` from `offset`.
  std::vector<user_record> list(const std::string& q, std::size_t limit, std::size_t offset);

  /// How many users `list` would find without limit.
  std::size_t count(const std::string& q);

  /// Sets full name and/or email; false when there is no such user.
  bool update_profile(std::int64_t id, const std::optional<std::string>& full_name,
                      const std::optional<std::string>& email);

  /// Records the time of a successful login.
  void set_last_login(std::int64_t id, time_point at);

private:
  soci::session& sql_;
};

} // namespace solod
