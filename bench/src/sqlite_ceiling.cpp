#include "sqlite_ceiling.hpp"

#include "clock.hpp"
#include "users.hpp"

#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "util/random.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>
#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

namespace bench {

namespace {

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string what = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error("sqlite ceiling: " + sql + ": " + what);
  }
}

void remove_database(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    std::filesystem::remove(path + suffix, ec);
  }
}

} // namespace

sqlite_ceiling measure_sqlite_ceiling(const std::string& path, std::size_t rows, std::size_t batch,
                                      bool secondary_indexes) {
  remove_database(path);
  solod::database_url url{solod::sql_dialect::sqlite, path};
  std::vector<std::string> indexes;
  {
    // solod's own schema and pragmas, so the only difference is the code path.
    auto sql = solod::open_database(url);
    solod::migrate(*sql, url.dialect);
    std::string name;
    soci::statement st = (sql->prepare << "SELECT name FROM sqlite_master WHERE type = 'index' "
                                          "AND tbl_name = 'login_logs' AND sql IS NOT NULL",
                          soci::into(name));
    st.execute();
    while (st.fetch()) {
      indexes.push_back(name);
    }
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("sqlite ceiling: cannot open " + path);
  }
  sqlite_ceiling out;
  try {
    // The pragmas solod's database.cpp sets on every connection.
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "PRAGMA synchronous=NORMAL");
    exec(db, "PRAGMA cache_size=-65536");
    exec(db, "PRAGMA wal_autocheckpoint=8192");
    if (!secondary_indexes) {
      for (const auto& name : indexes) {
        exec(db, "DROP INDEX " + name);
      }
    }
    // The audit scenario's rows: a thousand users and their sessions, cycled.
    std::vector<std::string> names, sessions;
    for (std::size_t u = 0; u < 1000; ++u) {
      names.push_back(user_name("bench-", u + 1));
      sessions.push_back(solod::random_hex(16));
    }
    sqlite3_stmt* insert = nullptr;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO login_logs (timestamp, event_type, user_id, username, session_id, "
                           "ip_address, user_agent, status, error_message, legal_basis) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &insert, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite ceiling: prepare: ") + sqlite3_errmsg(db));
    }
    const auto start = now_ns();
    for (std::size_t done = 0; done < rows;) {
      exec(db, "BEGIN IMMEDIATE");
      for (std::size_t i = 0; i < batch && done < rows; ++i, ++done) {
        const auto u = done % names.size();
        const auto ts = solod::format_iso8601(std::chrono::system_clock::now());
        sqlite3_bind_text(insert, 1, ts.c_str(), static_cast<int>(ts.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 2, u % 10 == 0 ? "session_superseded" : "login_success", -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 3, static_cast<sqlite3_int64>(u + 1));
        sqlite3_bind_text(insert, 4, names[u].c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 5, sessions[u].c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 6, "127.0.0.1", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 7, "solod-bench/1 (audit)", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 8, "success", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 9, "", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 10, "legal_obligation", -1, SQLITE_STATIC);
        if (sqlite3_step(insert) != SQLITE_DONE) {
          std::string what = sqlite3_errmsg(db);
          sqlite3_finalize(insert);
          throw std::runtime_error("sqlite ceiling: insert: " + what);
        }
        sqlite3_reset(insert);
      }
      exec(db, "COMMIT");
    }
    out.seconds = seconds_of(now_ns() - start);
    sqlite3_finalize(insert);
  } catch (...) {
    sqlite3_close(db);
    remove_database(path);
    throw;
  }
  sqlite3_close(db);
  remove_database(path);
  out.rows = rows;
  out.rows_per_s = out.seconds > 0 ? static_cast<double>(rows) / out.seconds : 0;
  return out;
}

} // namespace bench
