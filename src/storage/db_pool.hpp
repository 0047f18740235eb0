#pragma once
/// @brief A few threads, each with its own database connection, for blocking SOCI work.

#include "storage/database.hpp"
#include "util/worker_pool.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace soci {
class session;
}

namespace solod {

/// Runs SOCI work off the CAF scheduler and the network threads. Each thread
/// opens its connection on first use and reopens it after a failure, so the
/// pool recovers by itself when the database comes back.
class db_pool {
public:
  using work_fn = std::function<void(soci::session&)>;
  using error_fn = std::function<void(const std::string& what)>;

  /// How long a job may wait for a thread.
  enum class wait {
    /// At most the pool's wait_timeout; then `failed` runs instead, so the
    /// requester can answer 503 at once. For work someone waits on.
    bounded,
    /// As long as it takes: for writes that must happen whatever the delay
    /// (the end of a session already ended in memory).
    until_run,
  };

  /// `wait_timeout` (database.wait_timeout) bounds the queue wait of `wait::bounded` jobs.
  db_pool(database_url url, std::size_t threads, std::size_t max_queue,
          std::chrono::milliseconds wait_timeout = std::chrono::seconds{2});

  /// Queues `work`; when the connection cannot be opened, `work` throws, or
  /// (bounded) no thread took it within wait_timeout, `failed` runs instead.
  /// False when the queue is full.
  bool try_submit(work_fn work, error_fn failed, wait w = wait::bounded);

  /// Jobs waiting.
  std::size_t queued() const { return workers_.queued(); }

  /// Bounded jobs that waited too long and were not run.
  std::uint64_t wait_timeouts() const { return workers_.expired_count(); }

  /// Checks that the database can be reached now: on SQLite a new connection
  /// opens the file and reads its schema (an open connection would go on
  /// reading a file that was deleted or replaced); elsewhere `SELECT 1` on
  /// `sql`. Throws when it cannot. Runs inside a job.
  void check_reachable(soci::session& sql) const;

  /// Finishes queued jobs and joins the threads.
  void stop() { workers_.stop(); }

private:
  soci::session& connection();

  database_url url_;
  std::chrono::milliseconds wait_timeout_;
  worker_pool workers_;
};

} // namespace solod
