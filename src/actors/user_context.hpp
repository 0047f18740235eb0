#pragma once
/// @brief What every user actor shares: config, the registry, the database pool, the audit actor.

#include "config/config.hpp"

#include <caf/actor.hpp>

#include <chrono>

namespace solod {

class clock;
class db_pool;
class session_registry;
struct metrics;

/// The collaborators of the session actors; owned by the server, outlives them.
struct user_context {
  const config* cfg = nullptr;
  const clock* clk = nullptr;
  session_registry* registry = nullptr;
  db_pool* db = nullptr;
  caf::actor audit;
  metrics* stats = nullptr;
  /// How long a user actor with no session and no connection waits before retiring.
  std::chrono::milliseconds retire_after{std::chrono::seconds{60}};
  /// Test only: honour `fail_atom` (inject a failure). Never set in production.
  bool test_hooks = false;
};

} // namespace solod
