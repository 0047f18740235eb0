#pragma once
/// @brief Opening SOCI sessions from solod's database URL (SQLite or PostgreSQL).

#include "config/config.hpp"

#include <memory>
#include <stdexcept>
#include <string>

namespace soci {
class session;
}

namespace solod {

/// The SQL dialect behind a connection; migrations differ only in id columns.
enum class sql_dialect { sqlite, postgresql };

/// A database failure (connection lost, constraint, disk full); converted to 503 at the edge.
class database_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A parsed `database.url`.
struct database_url {
  sql_dialect dialect = sql_dialect::sqlite;
  /// SQLite file path, or the libpq key/value string without the password
  /// (safe to show).
  std::string target;
  /// PostgreSQL's password, kept apart from `target` so it is never shown.
  std::string password;

  /// Parses `sqlite3://PATH`, or `postgresql://` (or `postgres://`) followed
  /// by a libpq URI body or by libpq key/value text; throws database_error
  /// naming what is wrong (never the password).
  static database_url parse(const std::string& url);

  /// `database.url` with its password replaced by `SOLOD_DATABASE_PASSWORD`
  /// from `env`, else by the contents of `database.password_file` (trailing
  /// newlines dropped), when either is set. Throws database_error.
  static database_url from_config(const database_config& cfg, const environment& env);
};

/// Opens a session; SQLite gets WAL, synchronous=NORMAL, a busy timeout and
/// foreign keys, and its directory is created. Throws database_error.
std::unique_ptr<soci::session> open_database(const database_url& url);

} // namespace solod
