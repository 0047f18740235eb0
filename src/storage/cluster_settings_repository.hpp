#pragma once
/// @brief The `cluster_settings` table: facts every node of one database shares.

#include <optional>
#include <string>

namespace soci {
class session;
}

namespace solod {

/// Reads and writes named settings; every call blocks, so run it on the
/// database pool or at start-up.
class cluster_settings_repository {
public:
  explicit cluster_settings_repository(soci::session& sql) : sql_(sql) {}

  /// The value of `name`; nothing when it is not set.
  std::optional<std::string> get(const std::string& name);

  /// Stores `value` under `name` unless it is already set, and returns the
  /// value stored now: `value` when this call (or an equal one) set it, the
  /// other's when another node got there first. Race-safe: of nodes that
  /// call it together, exactly one sets it and all see that one.
  std::string put_if_absent(const std::string& name, const std::string& value);

private:
  soci::session& sql_;
};

} // namespace solod
