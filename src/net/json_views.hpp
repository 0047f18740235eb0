#pragma once
/// @brief The JSON shapes of SPEC §3 for users (storage/record_views) and live sessions.

#include "storage/record_views.hpp"
#include "storage/session_registry.hpp"

#include <nlohmann/json.hpp>

namespace solod {

/// `{id, created_at, expires_at, ip, user_agent}` of a live session.
nlohmann::json session_json(const live_session& s);

} // namespace solod
