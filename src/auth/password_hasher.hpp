#pragma once
/// @brief Argon2id password hashing through libsodium, at OWASP's parameters.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace solod {

/// Argon2id cost parameters.
struct argon2_params {
  unsigned long long ops_limit = 2;                 ///< t (iterations)
  std::size_t mem_limit = std::size_t{19} << 20;    ///< m in bytes (19 MiB)
};

/// What a login's check of a stored hash found.
struct password_check {
  bool match = false;
  /// With a match on a hash that is not Argon2id at solod's parameters (an
  /// imported one): the Argon2id hash to store in its place.
  std::optional<std::string> upgraded;
  /// Set when the stored hash is refused (malformed, unknown, beyond the cost
  /// bounds): why, never quoting the hash. The login then fails like any other.
  std::string refused;
};

/// Blocking Argon2id hash and verify; call only from the hashing pool.
class password_hasher {
public:
  /// Hashes the dummy once; throws std::invalid_argument below libsodium's minimum cost.
  explicit password_hasher(argon2_params params = {});

  /// A PHC string ($argon2id$v=19$m=19456,t=2,p=1$...); throws std::runtime_error on OOM.
  std::string hash(std::string_view password) const;

  /// True when `password` matches the PHC string `stored`.
  bool verify(std::string_view stored, std::string_view password) const;

  /// Checks `password` against any stored hash solod accepts (its own, or an
  /// imported werkzeug, Django, bcrypt, Argon2 or classic one). A match on
  /// anything but Argon2id at these parameters also computes the Argon2id
  /// replacement; a failure on an imported hash spends one dummy verify, so
  /// success and failure cost alike (legacy hash plus one Argon2id).
  password_check check(std::string_view stored, std::string_view password) const;

  /// Spends the cost of one verify on a fixed dummy hash, so unknown users cost the same.
  void verify_dummy(std::string_view password) const;

  const argon2_params& params() const { return params_; }

private:
  /// hash(), or nothing when it fails.
  std::optional<std::string> upgrade(std::string_view password) const;

  argon2_params params_;
  std::string dummy_hash_;
};

} // namespace solod
