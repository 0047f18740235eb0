#pragma once
/// @brief The retention job: deletes audit rows and anonymises sessions past `audit.retention_days`.

#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <functional>

namespace solod {

class clock;
class db_pool;

/// How the retention job works.
struct retention_options {
  db_pool* db = nullptr;
  const clock* clk = nullptr;
  int retention_days = 730;
  /// Rows per statement: small, so no single DELETE holds the write lock long
  /// enough to stall logins.
  std::size_t batch_rows = 1000;
  /// Pause between batches while there is more to do.
  std::chrono::milliseconds pause{20};
  /// Pause between sweeps once nothing is left.
  std::chrono::milliseconds period{std::chrono::hours{1}};
  /// After each sweep, the statistics of this many last days are computed once
  /// on the pool, filling the cache of closed hours (0: never).
  int stats_warm_days = 31;
  /// Called on the actor after each batch with what it deleted and anonymised
  /// (tests watch the job with it); may be empty.
  std::function<void(std::size_t deleted, std::size_t anonymised)> on_batch;
};

/// Spawns the retention actor. At once and then every `period` it deletes
/// `login_logs` rows older than the cut-off (now - retention_days, computed
/// saturating: a retention too long for the clock keeps everything) and blanks IP and User-Agent of
/// ended sessions that began before it, `batch_rows` at a time on the
/// database pool (never on a CAF thread). After each sweep it warms the
/// statistics cache (audit_stats) of the last `stats_warm_days`.
caf::actor spawn_retention_actor(caf::actor_system& sys, retention_options opts);

} // namespace solod
