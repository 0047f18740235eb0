#include "storage/db_pool.hpp"

#include <soci/soci.h>

namespace solod {

namespace {

/// The connection of the current pool thread; a thread belongs to one pool.
struct thread_connection {
  std::unique_ptr<soci::session> sql;
};

thread_local thread_connection current;

} // namespace

db_pool::db_pool(database_url url, std::size_t threads, std::size_t max_queue)
  : url_(std::move(url)), workers_(threads, max_queue, "solod-db") {}

soci::session& db_pool::connection() {
  if (!current.sql) {
    current.sql = open_database(url_);
  }
  return *current.sql;
}

bool db_pool::try_submit(work_fn work, error_fn failed) {
  return workers_.try_submit([this, work = std::move(work), failed = std::move(failed)] {
    try {
      work(connection());
    } catch (const std::exception& e) {
      // Drop the connection: the next job reconnects, which heals a restarted server.
      current.sql.reset();
      failed(e.what());
    }
  });
}

} // namespace solod
