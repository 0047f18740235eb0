#pragma once
/// @brief The data-subject export (GDPR art. 15, KVKK art. 11): everything
/// solod holds about one person, as one JSON document.

#include "config/config.hpp"
#include "storage/records.hpp"

#include <nlohmann/json.hpp>

namespace soci {
class session;
}

namespace solod {

/// The document `{format, exported_at, user, attributes, sessions, audit,
/// legal_basis}` of `user`: its profile (without the password hash), its
/// attributes, every session row and every audit row with its id (newest
/// first), and the configured legal basis of each kind of row. Blocks.
nlohmann::json subject_document(soci::session& sql, const user_record& user,
                                const legal_basis_config& bases, time_point now);

} // namespace solod
