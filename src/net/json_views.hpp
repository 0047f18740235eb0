#pragma once
/// @brief The JSON shapes of SPEC §3 for users and sessions.

#include "storage/session_registry.hpp"
#include "storage/records.hpp"

#include <nlohmann/json.hpp>

namespace solod {

/// `{id, username, full_name, email, is_admin, is_active, created_at, last_login}`.
nlohmann::json user_json(const user_record& u);

/// `{id, created_at, expires_at, ip, user_agent}` of a live session.
nlohmann::json session_json(const live_session& s);

} // namespace solod
