#include "storage/cluster_settings_repository.hpp"

#include "storage/database.hpp"

#include <soci/soci.h>

namespace solod {

std::optional<std::string> cluster_settings_repository::get(const std::string& name) {
  std::string value;
  sql_ << "SELECT value FROM cluster_settings WHERE name = :n", soci::use(name), soci::into(value);
  if (!sql_.got_data()) {
    return std::nullopt;
  }
  return value;
}

std::string cluster_settings_repository::put_if_absent(const std::string& name,
                                                       const std::string& value) {
  // The primary key decides between nodes inserting at once: PostgreSQL's
  // ON CONFLICT waits for the other's insert to commit, then does nothing.
  sql_ << "INSERT INTO cluster_settings (name, value) VALUES (:n, :v) ON CONFLICT (name) DO NOTHING",
    soci::use(name), soci::use(value);
  auto stored = get(name);
  if (!stored) {
    throw database_error("cluster_settings: '" + name + "' vanished right after it was written");
  }
  return *stored;
}

} // namespace solod
