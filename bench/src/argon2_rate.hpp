#pragma once
/// @brief The raw Argon2id rate: password verifies per second at solod's parameters, no server involved.

#include <cstddef>
#include <string>

namespace bench {

/// What the raw measurement gave.
struct argon2_rate {
  double per_second = 0;
  std::size_t verifies = 0;
  double seconds = 0;
  std::size_t threads = 0;
};

/// Verifies `password` against its own hash with solod's password_hasher
/// (Argon2id, the server's parameters) on `threads` threads for about
/// `seconds`; 0 threads = one per core, as solod's hashing pool.
argon2_rate measure_argon2_rate(const std::string& password, std::size_t threads, double seconds);

} // namespace bench
