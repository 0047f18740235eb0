#pragma once
/// @brief Opening SOCI sessions from solod's database URL (SQLite or PostgreSQL).

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
  std::string target; ///< SQLite file path, or the PostgreSQL connection string

  /// Parses `sqlite3://PATH` or `postgresql://...`; throws database_error.
  static database_url parse(const std::string& url);
};

/// Opens a session; SQLite gets WAL, synchronous=NORMAL, a busy timeout and
/// foreign keys, and its directory is created. Throws database_error.
std::unique_ptr<soci::session> open_database(const database_url& url);

} // namespace solod
