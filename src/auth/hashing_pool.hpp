#pragma once
/// @brief The pool of threads that runs Argon2id, with a bounded queue.

#include "util/worker_pool.hpp"

namespace solod {

/// Runs password hashing off the network and actor threads; a full queue
/// refuses work, so callers can answer 503.
///
/// Its threads run at a lower CPU priority: a login is CPU-bound for tens of
/// milliseconds, and while the cores are busy hashing, the threads that
/// deliver kicks, news and messages must still get a core at once. Hashing
/// only yields to them; an otherwise idle machine hashes at full speed.
class hashing_pool : public worker_pool {
public:
  /// How much lower than the rest of the process the hashing threads run.
  static constexpr int niceness = 10;

  /// `threads` = 0 means one per core (at least 1).
  hashing_pool(std::size_t threads, std::size_t max_queue, const char* name = "solod-hash")
    : worker_pool(threads, max_queue, name, niceness) {}
};

} // namespace solod
