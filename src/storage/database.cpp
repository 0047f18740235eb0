#include "storage/database.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#ifdef SOLOD_WITH_POSTGRESQL
#include <soci/postgresql/soci-postgresql.h>
#endif

#include <filesystem>

namespace solod {

database_url database_url::parse(const std::string& url) {
  database_url out;
  if (url.rfind("sqlite3://", 0) == 0) {
    out.dialect = sql_dialect::sqlite;
    out.target = url.substr(10);
  } else if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    out.dialect = sql_dialect::postgresql;
    out.target = url; // libpq understands the URI form itself
  } else {
    throw database_error("unsupported database url (expected sqlite3:// or postgresql://)");
  }
  if (out.target.empty()) {
    throw database_error("database url names no database");
  }
  return out;
}

std::unique_ptr<soci::session> open_database(const database_url& url) {
  try {
    if (url.dialect == sql_dialect::sqlite) {
      auto parent = std::filesystem::path(url.target).parent_path();
      if (!parent.empty()) {
        std::filesystem::create_directories(parent);
      }
      auto sql = std::make_unique<soci::session>(soci::sqlite3,
                                                 "db=" + url.target + " timeout=10");
      // WAL lets readers run beside the one writer; synchronous=NORMAL in WAL
      // mode keeps every committed transaction across a process crash (kill -9),
      // only an OS crash or power loss may lose the last commits.
      *sql << "PRAGMA journal_mode=WAL";
      *sql << "PRAGMA synchronous=NORMAL";
      *sql << "PRAGMA foreign_keys=ON";
      *sql << "PRAGMA busy_timeout=10000";
      // The audit log's indexes take random keys: a 64 MiB page cache keeps
      // their hot pages in memory, and fewer checkpoints (WAL pages, not
      // transactions) keep the writer from stalling on them.
      *sql << "PRAGMA cache_size=-65536";
      *sql << "PRAGMA wal_autocheckpoint=8192";
      return sql;
    }
#ifdef SOLOD_WITH_POSTGRESQL
    return std::make_unique<soci::session>(soci::postgresql, url.target);
#else
    throw database_error("this build has no PostgreSQL support");
#endif
  } catch (const database_error&) {
    throw;
  } catch (const std::exception& e) {
    throw database_error(std::string("cannot open database: ") + e.what());
  }
}

} // namespace solod
