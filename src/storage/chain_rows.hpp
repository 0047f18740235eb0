#pragma once
/// @brief Reading audit rows as the chain hashes them, with the chain data stored beside them.

#include "storage/audit_chain_hash.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// An audit row with its chain columns; both empty for a row written outside the chain.
struct stored_row {
  chain_row row;
  std::optional<std::string> chain_key;
  std::optional<std::string> row_hash;
};

/// Visits the rows `first_id <= id <= last_id`, by id, one at a time.
void for_each_stored_row(soci::session& sql, std::int64_t first_id, std::int64_t last_id,
                         const std::function<void(const stored_row&)>& visit);

/// Visits the rows with these ids (in chunks of 500), by id.
void for_each_stored_row(soci::session& sql, const std::vector<std::int64_t>& ids,
                         const std::function<void(const stored_row&)>& visit);

} // namespace solod
