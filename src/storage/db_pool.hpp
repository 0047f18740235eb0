#pragma once
/// @brief A few threads, each with its own database connection, for blocking SOCI work.

#include "auth/hashing_pool.hpp"
#include "storage/database.hpp"

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

  db_pool(database_url url, std::size_t threads, std::size_t max_queue);

  /// Queues `work`; when the connection cannot be opened or `work` throws,
  /// `failed` runs instead (on the same thread). False when the queue is full.
  bool try_submit(work_fn work, error_fn failed);

  /// Jobs waiting.
  std::size_t queued() const { return workers_.queued(); }

  /// Finishes queued jobs and joins the threads.
  void stop() { workers_.stop(); }

private:
  soci::session& connection();

  database_url url_;
  hashing_pool workers_;
};

} // namespace solod
