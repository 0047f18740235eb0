#pragma once
/// @brief Signing checkpoints only of a chain that still extends the one
/// signed last: what a node signed is remembered beside its key, outside the
/// database, so a rewrite of signed rows (with their hashes recomputed and the
/// newer checkpoints deleted) is refused instead of signed, and `verify` on
/// that node finds it.

#include "storage/audit_chain.hpp"

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace soci {
class session;
}

namespace solod {

/// The chain no longer extends what this key signed last.
class chain_break : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A row and its hash a key signed.
struct signed_point {
  std::int64_t row_id = 0;
  std::string head; ///< hex
};

/// The point kept in `path` ("ROW HEAD"), if the file holds one.
std::optional<signed_point> read_signed_point(const std::string& path);

/// Where a key's last signed point is kept: beside it, `KEYFILE.last`.
std::string signed_point_path(const std::string& key_path);

/// Signs checkpoints with one key; safe to share between threads.
class checkpoint_signer {
public:
  /// Remembers what it signs in signed_point_path(key_path).
  checkpoint_signer(audit_signing_key key, const std::string& key_path);

  const audit_signing_key& key() const { return key_; }

  /// Checks that every row from the last signed point to the head chains on,
  /// then signs the head (unless `always` is false and this key already signed
  /// it) and remembers it. Throws chain_break, or database_error.
  std::optional<audit_checkpoint> sign(soci::session& sql, time_point now, bool always = false);

private:
  void check_extends(soci::session& sql, const signed_point& last, const chain_state& state) const;
  void remember(const audit_checkpoint& cp);

  audit_signing_key key_;
  std::string memory_path_;
  std::mutex mutex_;
};

} // namespace solod
