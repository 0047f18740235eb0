#pragma once
/// @brief The `user_attributes` table.

#include "storage/user_attribute.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// Reads and writes the attributes of users; every call blocks, so run it
/// on the database pool (or from the command line).
class attribute_repository {
public:
  explicit attribute_repository(soci::session& sql) : sql_(sql) {}

  /// The attributes of `user_id`, by name.
  std::vector<user_attribute> list(std::int64_t user_id);

  /// One attribute, if the user has it.
  std::optional<user_attribute> find(std::int64_t user_id, const std::string& name);

  /// Sets (creates or replaces) one attribute; true when it was created.
  bool put(std::int64_t user_id, const user_attribute& attribute);

  /// Removes one attribute; false when the user had none of that name.
  bool remove(std::int64_t user_id, const std::string& name);

private:
  soci::session& sql_;
};

} // namespace solod
