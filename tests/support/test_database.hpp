#pragma once
/// @brief Test helpers: a fresh temporary directory, a migrated database (SQLite in that
/// directory, or a fresh PostgreSQL database when SOLOD_TEST_PG_URL is set), and one-line
/// queries for checking rows.

#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "util/random.hpp"

#include <soci/soci.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace test_support {

/// A directory of its own for one test, removed with everything in it afterwards.
class temp_dir {
public:
  temp_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "solod-test-XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = buf.data();
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// The maintenance URL of the test PostgreSQL server (scripts/pg-test-server.sh
/// prints it; scripts/test.sh and the `pg` ctest runs set it), or nothing: SQLite.
inline std::optional<std::string> test_pg_url() {
  const char* url = std::getenv("SOLOD_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    return std::nullopt;
  }
  return std::string(url);
}

/// True when this run's tests use PostgreSQL.
inline bool on_postgresql() {
  return test_pg_url().has_value();
}

/// A fresh, empty PostgreSQL database `solod_t_<random>`, created through the
/// maintenance URL and dropped afterwards (with any connection still open to it).
class pg_scratch_database {
public:
  explicit pg_scratch_database(const std::string& maintenance_url)
    : admin_(solod::database_url::parse(maintenance_url)), name_("solod_t_" + solod::random_hex(8)) {
    auto sql = solod::open_database(admin_);
    *sql << "CREATE DATABASE " + name_;
  }
  ~pg_scratch_database() {
    try {
      auto sql = solod::open_database(admin_);
      *sql << "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)";
    } catch (const std::exception&) {
      // The server is gone (a test stopped it): nothing left to drop.
    }
  }
  pg_scratch_database(const pg_scratch_database&) = delete;
  pg_scratch_database& operator=(const pg_scratch_database&) = delete;

  /// The URL of the new database (key/value form after the scheme; the later dbname wins).
  std::string url_text() const { return "postgresql://" + admin_.target + " dbname=" + name_; }
  const std::string& name() const { return name_; }

private:
  solod::database_url admin_;
  std::string name_;
};

/// A migrated database of its own, with one connection for the test's checks:
/// SQLite in a fresh directory, or (SOLOD_TEST_PG_URL set) a fresh PostgreSQL
/// database. `dir` is there on both backends for the test's other files.
struct test_database {
  temp_dir dir;
  std::unique_ptr<pg_scratch_database> pg;
  /// The URL as `database.url` would say it.
  std::string url_text;
  solod::database_url url;
  std::unique_ptr<soci::session> sql;

  explicit test_database(const std::string& file = "t.db")
    : pg(on_postgresql() ? std::make_unique<pg_scratch_database>(*test_pg_url()) : nullptr),
      url_text(pg ? pg->url_text() : "sqlite3://" + dir.path() + "/" + file),
      url(solod::database_url::parse(url_text)),
      sql(solod::open_database(url)) {
    solod::migrate(*sql, url.dialect);
  }

  ~test_database() {
    sql.reset(); // before the database is dropped
  }

  /// Another connection to the same database (each thread needs its own).
  std::unique_ptr<soci::session> connect() const { return solod::open_database(url); }
};

/// An empty database (not migrated) on this run's backend, for migration tests.
struct empty_database {
  temp_dir dir;
  std::unique_ptr<pg_scratch_database> pg;
  std::string url_text;
  solod::database_url url;

  empty_database()
    : pg(on_postgresql() ? std::make_unique<pg_scratch_database>(*test_pg_url()) : nullptr),
      url_text(pg ? pg->url_text() : "sqlite3://" + dir.path() + "/t.db"),
      url(solod::database_url::parse(url_text)) {}

  std::unique_ptr<soci::session> connect() const { return solod::open_database(url); }
};

/// The single integer `query` selects; every parameter is bound as text.
inline long long count_of(soci::session& sql, const std::string& query,
                          const std::vector<std::string>& params = {}) {
  long long n = 0;
  soci::indicator ind = soci::i_null;
  soci::statement st(sql);
  st.exchange(soci::into(n, ind));
  for (const auto& p : params) {
    st.exchange(soci::use(p));
  }
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  st.execute(true);
  return ind == soci::i_ok ? n : 0;
}

/// The single text value `query` selects; nothing for no row or NULL.
inline std::optional<std::string> text_of(soci::session& sql, const std::string& query,
                                          const std::vector<std::string>& params = {}) {
  std::string value;
  soci::indicator ind = soci::i_null;
  soci::statement st(sql);
  st.exchange(soci::into(value, ind));
  for (const auto& p : params) {
    st.exchange(soci::use(p));
  }
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  if (!st.execute(true) || ind != soci::i_ok) {
    return std::nullopt;
  }
  return value;
}

/// Polls `done` until it holds or `limit` passes; the limit is only a guard
/// against hanging, so the result must never be read as "it happened in time".
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds{10}) {
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return true;
}

/// Another connection that makes every writer wait until release(): on SQLite
/// it holds the write lock (BEGIN IMMEDIATE plus an uncommitted insert); on
/// PostgreSQL an EXCLUSIVE lock on every table (reads go on, writes wait).
class write_blocker {
public:
  explicit write_blocker(const test_database& db) : sql_(db.connect()) {
    if (db.url.dialect == solod::sql_dialect::postgresql) {
      *sql_ << "BEGIN";
      *sql_ << "LOCK TABLE users, user_attributes, sessions, login_logs, cluster_nodes, "
               "cluster_connections, cluster_news, cluster_settings, login_failures, account_locks "
               "IN EXCLUSIVE MODE";
      return;
    }
    *sql_ << "BEGIN IMMEDIATE";
    *sql_ << "INSERT INTO login_logs (timestamp, event_type, status) "
             "VALUES ('2000-01-01T00:00:00.000Z', 'blocker', 'success')";
  }
  ~write_blocker() { release(); }
  write_blocker(const write_blocker&) = delete;
  write_blocker& operator=(const write_blocker&) = delete;

  void release() {
    if (held_) {
      held_ = false;
      *sql_ << "ROLLBACK";
    }
  }

private:
  std::unique_ptr<soci::session> sql_;
  bool held_ = true;
};

} // namespace test_support
