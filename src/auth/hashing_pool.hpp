#pragma once
/// @brief The pool of threads that runs Argon2id, with a bounded queue.

#include "util/worker_pool.hpp"

namespace solod {

/// Runs password hashing off the network and actor threads; a full queue
/// refuses work, so callers can answer 503.
class hashing_pool : public worker_pool {
public:
  /// `threads` = 0 means one per core (at least 1).
  hashing_pool(std::size_t threads, std::size_t max_queue, const char* name = "solod-hash")
    : worker_pool(threads, max_queue, name) {}
};

} // namespace solod
