#include "storage/db_pool.hpp"

#include <soci/soci.h>

namespace solod {

namespace {

/// The connection of the current pool thread; a thread belongs to one pool.
struct thread_connection {
  std::unique_ptr<soci::session> sql;
  std::chrono::steady_clock::time_point last_used{};
};

/// A PostgreSQL connection idle this long is checked (one SELECT 1) before a job uses it:
/// after a server restart it is dead, and the job would fail (503) although
/// a fresh connection works.
constexpr std::chrono::milliseconds check_after_idle{100};

thread_local thread_connection current;

} // namespace

db_pool::db_pool(database_url url, std::size_t threads, std::size_t max_queue,
                 std::chrono::milliseconds wait_timeout)
  : url_(std::move(url)), wait_timeout_(wait_timeout), workers_(threads, max_queue, "solod-db") {}

soci::session& db_pool::connection() {
  auto now = std::chrono::steady_clock::now();
  if (current.sql && url_.dialect == sql_dialect::postgresql &&
      now - current.last_used > check_after_idle) {
    try {
      int one = 0;
      *current.sql << "SELECT 1", soci::into(one);
    } catch (const std::exception&) {
      current.sql.reset(); // reopened below
    }
  }
  if (!current.sql) {
    current.sql = open_database(url_);
  }
  current.last_used = now;
  return *current.sql;
}

bool db_pool::try_submit(work_fn work, error_fn failed, wait w) {
  auto job = [this, work = std::move(work), failed]() {
    try {
      work(connection());
    } catch (const std::exception& e) {
      // Drop the connection: the next job reconnects, which heals a restarted server.
      current.sql.reset();
      failed(e.what());
    }
  };
  if (w == wait::until_run) {
    return workers_.try_submit(std::move(job));
  }
  auto expired = [failed = std::move(failed)] { failed("timed out waiting for the database"); };
  return workers_.try_submit(std::move(job), wait_timeout_, std::move(expired));
}

void db_pool::check_reachable(soci::session& sql) const {
  if (url_.dialect == sql_dialect::sqlite) {
    auto fresh = open_database(url_);
    int tables = 0;
    *fresh << "SELECT count(*) FROM sqlite_master", soci::into(tables);
    return;
  }
  int one = 0;
  sql << "SELECT 1", soci::into(one);
}

} // namespace solod
