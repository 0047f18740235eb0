#include "net/json_views.hpp"

#include "util/time_format.hpp"

namespace solod {

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
