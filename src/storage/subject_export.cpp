#include "storage/subject_export.hpp"

#include "storage/attribute_repository.hpp"
#include "storage/record_views.hpp"
#include "storage/user_activity.hpp"
#include "util/time_format.hpp"

namespace solod {

namespace {

using json = nlohmann::json;

json profile_json(const user_record& u) {
  auto j = user_json(u);
  j["erased"] = u.erased_at.has_value();
  return j;
}

} // namespace

json subject_document(soci::session& sql, const user_record& user, const legal_basis_config& bases,
                      time_point now) {
  json attributes = json::array();
  for (const auto& a : attribute_repository(sql).list(user.id)) {
    attributes.push_back(attribute_json(a));
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
