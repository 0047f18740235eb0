#pragma once
/// @brief The bench's users: names, ids and tokens, read from the token file `seed` writes.

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

/// One user the bench logs in or connects as.
struct bench_user {
  std::int64_t id = 0; ///< 0 when unknown (peers)
  std::string name;
  std::string token;   ///< "" until logged in
};

/// The name of user `i` (1-based): `prefix` + 6 digits, e.g. "bench-000042".
std::string user_name(const std::string& prefix, std::size_t i);

/// `n` users `prefix`000001.. without ids or tokens (for servers that log anyone in).
std::vector<bench_user> generated_users(const std::string& prefix, std::size_t n);

/// Reads a token file: one `ID USERNAME TOKEN` per line. Throws std::runtime_error.
std::vector<bench_user> read_token_file(const std::string& path);

/// Writes `users` as a token file (mode 0600: the tokens are live credentials).
void write_token_file(const std::string& path, const std::vector<bench_user>& users);

} // namespace bench
