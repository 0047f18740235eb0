#include "storage/record_views.hpp"

#include "util/csv.hpp"
#include "util/time_format.hpp"
#include "util/utf8.hpp"

namespace solod {

namespace {

std::optional<std::int64_t> duration_ms(const session_record& s) {
  if (!s.logout_ts) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*s.logout_ts - s.login_ts).count();
}

} // namespace

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

nlohmann::json attribute_json(const user_attribute& a) {
  return {{"name", a.name}, {"type", a.type}, {"value", attribute_value_json(a)}};
}

nlohmann::json session_history_json(const session_record& s) {
  const auto duration = duration_ms(s);
  return {
    {"id", s.id},
    {"user_id", s.user_id},
    {"username", s.username},
    {"created_at", format_iso8601(s.login_ts)},
    {"ended_at", s.logout_ts ? nlohmann::json(format_iso8601(*s.logout_ts)) : nlohmann::json()},
    {"duration_ms", duration ? nlohmann::json(*duration) : nlohmann::json()},
    {"end_reason", s.end_reason.empty() ? nlohmann::json() : nlohmann::json(s.end_reason)},
    {"ip", s.ip_address},
    {"user_agent", s.user_agent},
    {"legal_basis", s.legal_basis},
  };
}

std::string session_csv_header() {
  return csv_row({"id", "user_id", "username", "created_at", "ended_at", "duration_ms",
                  "end_reason", "ip", "user_agent", "legal_basis"});
}

std::string session_csv(const session_record& s) {
  const auto duration = duration_ms(s);
  return sanitize_utf8(csv_row({s.id, std::to_string(s.user_id), s.username, format_iso8601(s.login_ts),
                                s.logout_ts ? format_iso8601(*s.logout_ts) : "",
                                duration ? std::to_string(*duration) : "", s.end_reason, s.ip_address,
                                s.user_agent, s.legal_basis}),
                       std::string::npos, utf8_controls::keep);
}

nlohmann::json audit_row_json(const audit_event& e) {
  return {
    {"id", e.id},
    {"at", format_iso8601(e.timestamp)},
    {"event", e.event_type},
    {"user_id", e.user_id ? nlohmann::json(*e.user_id) : nlohmann::json()},
    {"username", e.username},
    {"session_id", e.session_id.empty() ? nlohmann::json() : nlohmann::json(e.session_id)},
    {"ip", e.ip_address},
    {"user_agent", e.user_agent},
    {"status", e.status},
    {"detail", e.error_message},
    {"legal_basis", e.legal_basis},
  };
}

} // namespace solod
