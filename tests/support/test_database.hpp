#pragma once
/// @brief Test helpers: a fresh temporary directory, a migrated SQLite database in it, and
/// one-line queries for checking rows.

#include "storage/database.hpp"
#include "storage/migrations.hpp"

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

/// A migrated SQLite database in a fresh directory, with one connection for the test's checks.
struct test_database {
  temp_dir dir;
  solod::database_url url;
  std::unique_ptr<soci::session> sql;

  explicit test_database(const std::string& file = "t.db")
    : url(solod::database_url::parse("sqlite3://" + dir.path() + "/" + file)),
      sql(solod::open_database(url)) {
    solod::migrate(*sql, url.dialect);
  }

  /// Another connection to the same database (each thread needs its own).
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

/// Another connection holding SQLite's write lock (BEGIN IMMEDIATE plus an
/// uncommitted insert) until release(): every writer waits behind it.
class write_blocker {
public:
  explicit write_blocker(const test_database& db) : sql_(db.connect()) {
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
