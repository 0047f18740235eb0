/// @file Data-subject rights in the admin API (GDPR art. 15 and 17, KVKK
/// art. 11): `/api/admin/users/{id}/export` and `/api/admin/users/{id}/erase`.

#include "net/admin_router.hpp"

#include "actors/messages.hpp"
#include "net/admin_query.hpp"
#include "storage/db_pool.hpp"
#include "storage/subject_export.hpp"
#include "storage/user_erasure.hpp"
#include "storage/user_repository.hpp"
#include "util/json_text.hpp"
#include "util/time_format.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

namespace solod {

namespace {

using json = nlohmann::json;
using namespace admin_query;

} // namespace

bool admin_router::audit_flushed() const {
  caf::scoped_actor self{deps_.audit.home_system()};
  std::size_t held = 1;
  self->request(deps_.audit, std::chrono::seconds(5), flush_atom::value, count_atom::value)
    .receive([&](std::size_t still_held) { held = still_held; }, [](const caf::error&) {});
  return held == 0;
}

/// The data-subject routes under /api/admin/users/{id}: suffix and method.
constexpr std::pair<std::string_view, const char*> subject_routes[] = {
  {"/export", "GET"},
  {"/erase", "POST"},
};

void admin_router::subject_route(soci::session& sql, const http_request& req, const user_record& admin,
                                 std::string_view rest, responder respond) const {
  for (const auto& [suffix, method] : subject_routes) {
    if (!rest.ends_with(suffix)) {
      continue;
    }
    const auto id = parse_int(rest.substr(0, rest.size() - suffix.size()));
    if (req.method != method) {
      respond(error_response(405, "method_not_allowed", std::string("use ") + method)
                .with_header("Allow", method));
    } else if (!id) {
      respond(error_response(404, "not_found", "no such user"));
    } else if (suffix == "/export") {
      export_subject(sql, req, admin, *id, respond);
    } else {
      erase_subject(sql, req, admin, *id, respond);
    }
    return;
  }
}

void admin_router::export_subject(soci::session& sql, const http_request& req, const user_record& admin,
                                  std::int64_t id, responder respond) const {
  auto user = user_repository(sql).find_by_id(id);
  if (!user) {
    respond(error_response(404, "not_found", "no such user"));
    return;
  }
  audit_action(req, admin, "export user id " + std::to_string(id));
  auto r = json_response(200, to_json_text(subject_document(sql, *user, deps_.cfg->legal_basis,
                                                            deps_.clk->now())));
  r.with_header("Content-Disposition",
                "attachment; filename=\"solod-user-" + std::to_string(id) + ".json\"");
  r.with_header("Cache-Control", "no-store");
  respond(std::move(r));
}

void admin_router::erase_subject(soci::session& sql, const http_request& req, const user_record& admin,
                                 std::int64_t id, responder respond) const {
  if (id == admin.id) {
    respond(bad_input("an administrator cannot erase their own account"));
    return;
  }
  // 1. Disable (no login can start a session meanwhile), 2. end the live
  // session everywhere (kicks, 4003), 3. erase in one transaction.
  auto erase = [this, req, admin, id, respond] {
    auto fail = respond;
    bool queued = deps_.db->try_submit(
      [this, req, admin, id, respond](soci::session& sql) {
        // The session's end row is in the audit actor's mailbox already (sent
        // before the end was confirmed): commit it first, or it would land
        // after the erasure with the real name, address and browser.
        if (!audit_flushed()) {
          respond(unavailable());
          return;
        }
        auto outcome = user_erasure(sql).erase(id, deps_.clk->now());
        if (auto* refusal = std::get_if<erasure_refusal>(&outcome)) {
          if (*refusal == erasure_refusal::no_such_user) {
            respond(error_response(404, "not_found", "no such user"));
          } else if (*refusal == erasure_refusal::already_erased) {
            respond(error_response(409, "already_erased", "this user is already erased"));
          } else {
            respond(error_response(409, "session_active", "the user's session is still ending; try again")
                      .with_header("Retry-After", "1"));
          }
          return;
        }
        const auto& done = std::get<erasure_result>(outcome);
        audit_action(req, admin, "erase user id " + std::to_string(id) + " as " + done.pseudonym);
        respond(json_response(200, to_json_text(json{{"erased",
                                                      {{"user_id", id},
                                                       {"pseudonym", done.pseudonym},
                                                       {"sessions", done.sessions},
                                                       {"audit_rows", done.audit_rows}}}})));
      },
      [fail](const std::string&) { fail(unavailable()); });
    if (!queued) {
      respond(unavailable());
    }
  };
  user_repository users(sql);
  auto user = users.find_by_id(id);
  if (!user) {
    respond(error_response(404, "not_found", "no such user"));
    return;
  }
  if (user->erased_at) {
    respond(error_response(409, "already_erased", "this user is already erased"));
    return;
  }
  users.set_active(id, false);
  end_user_session(id, req, erase);
}

} // namespace solod
