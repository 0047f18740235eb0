/// @file `/api/me/activity`: a user's own recent logins, failures, kicks and
/// logouts, as account pages at Google or GitHub show them.

#include "net/api_router.hpp"

#include "auth/authenticator.hpp"
#include "storage/db_pool.hpp"
#include "storage/user_activity.hpp"
#include "util/json_text.hpp"
#include "util/time_format.hpp"

#include <nlohmann/json.hpp>

namespace solod {

namespace {

using json = nlohmann::json;

/// Rows the page shows.
constexpr std::size_t activity_rows = 50;

json entry_json(const activity_entry& a, const std::string& current_session) {
  const auto& e = a.event;
  json session;
  if (a.session) {
    session = json{{"ended_at", a.session->logout_ts ? json(format_iso8601(*a.session->logout_ts)) : json()},
                   {"end_reason", a.session->end_reason.empty() ? json() : json(a.session->end_reason)}};
  }
  // An admin's end of the session is stamped with the admin's address and
  // browser: theirs, not the user's to see.
  const bool by_admin = e.event_type == "session_terminated";
  return {
    {"id", e.id},
    {"at", format_iso8601(e.timestamp)},
    {"event", e.event_type},
    {"status", e.status},
    {"ip", by_admin ? "" : e.ip_address},
    {"user_agent", by_admin ? "" : e.user_agent},
    {"session_id", e.session_id.empty() ? json() : json(e.session_id)},
    {"detail", e.error_message},
    // A superseded row names the old session: it is never "this" one.
    {"current", e.event_type == "login_success" && e.session_id == current_session},
    {"session", std::move(session)},
  };
}

} // namespace

void api_router::do_activity(const http_request& req, responder respond) const {
  with_principal(req, respond, [this, respond](principal who) {
    auto fail = respond;
    bool queued = deps_.db->try_submit(
      [respond, user_id = who.session.user_id, sid = who.session.id](soci::session& sql) {
        json events = json::array();
        for (const auto& a : user_activity(sql).recent(user_id, activity_rows)) {
          events.push_back(entry_json(a, sid));
        }
        auto r = json_response(200, to_json_text(json{{"events", std::move(events)}}));
        r.with_header("Cache-Control", "no-store");
        respond(std::move(r));
      },
      [fail](const std::string&) {
        fail(error_response(503, "unavailable", "database unavailable").with_header("Retry-After", "1"));
      });
    if (!queued) {
      respond(error_response(503, "unavailable", "server busy").with_header("Retry-After", "1"));
    }
  });
}

} // namespace solod
