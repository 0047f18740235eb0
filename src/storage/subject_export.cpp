#include "storage/subject_export.hpp"

#include "storage/attribute_repository.hpp"
#include "storage/record_views.hpp"
#include "storage/user_activity.hpp"
#include "storage/user_attribute.hpp"
#include "util/time_format.hpp"

namespace solod {

namespace {

using json = nlohmann::json;

json profile_json(const user_record& u) {
  auto when = [](const std::optional<time_point>& t) { return t ? json(format_iso8601(*t)) : json(); };
  return {
    {"id", u.id},
    {"username", u.username},
    {"full_name", u.full_name},
    {"email", u.email},
    {"is_admin", u.is_admin},
    {"is_active", u.is_active},
    {"created_at", format_iso8601(u.created_at)},
    {"last_login", when(u.last_login)},
    {"erased", u.erased_at.has_value()},
  };
}

} // namespace

json subject_document(soci::session& sql, const user_record& user, const legal_basis_config& bases,
                      time_point now) {
  json attributes = json::array();
  for (const auto& a : attribute_repository(sql).list(user.id)) {
    attributes.push_back(json{{"name", a.name}, {"type", a.type}, {"value", attribute_value_json(a)}});
  }
  user_activity activity(sql);
  json sessions = json::array();
  for (const auto& s : activity.sessions(user.id)) {
    sessions.push_back(session_history_json(s));
  }
  json audit = json::array();
  for (const auto& e : activity.audit_rows(user.id)) {
    audit.push_back(audit_row_json(e));
  }
  json basis = json::object();
  for (const auto& [kind, ground] : bases.all()) {
    basis[kind] = ground;
  }
  return json{{"format", "solod-subject-export/1"},
              {"exported_at", format_iso8601(now)},
              {"user", profile_json(user)},
              {"attributes", std::move(attributes)},
              {"sessions", std::move(sessions)},
              {"audit", std::move(audit)},
              {"legal_basis", std::move(basis)}};
}

} // namespace solod
