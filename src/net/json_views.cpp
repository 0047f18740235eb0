#include "net/json_views.hpp"

#include "util/time_format.hpp"

namespace solod {

nlohmann::json user_json(const user_record& u) {
  return {
    {"id", u.id},
    {"username", u.username},
    {"full_name", u.full_name},
    {"email", u.email},
    {"is_admin", u.is_admin},
    {"is_active", u.is_active},
    {"created_at", format_iso8601(u.created_at)},
    {"last_login", u.last_login ? nlohmann::json(format_iso8601(*u.last_login)) : nlohmann::json()},
  };
}

nlohmann::json session_json(const live_session& s) {
  return {
    {"id", s.id},
    {"created_at", format_iso8601(s.created_at)},
    {"expires_at", format_iso8601(s.expires_at)},
    {"ip", s.ip},
    {"user_agent", s.user_agent},
  };
}

} // namespace solod
