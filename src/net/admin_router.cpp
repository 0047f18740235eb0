#include "net/admin_router.hpp"

#include "actors/messages.hpp"
#include "storage/cluster_repository.hpp"
#include "storage/session_registry.hpp"
#include "auth/authenticator.hpp"
#include "auth/credentials.hpp"
#include "auth/hashing_pool.hpp"
#include "auth/legacy_hash.hpp"
#include "auth/password_hasher.hpp"
#include "net/admin_query.hpp"
#include "net/csv_stream.hpp"
#include "net/json_views.hpp"
#include "storage/attribute_repository.hpp"
#include "storage/db_pool.hpp"
#include "storage/audit_proof.hpp"
#include "storage/checkpoint_signer.hpp"
#include "storage/login_log_repository.hpp"
#include "storage/session_repository.hpp"
#include "storage/user_activity.hpp"
#include "storage/user_repository.hpp"
#include "util/clock.hpp"
#include "util/csv.hpp"
#include "util/json_text.hpp"
#include "util/query_string.hpp"
#include "util/time_format.hpp"
#include "util/utf8.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <charconv>

namespace solod {

namespace {

using json = nlohmann::json;
using namespace admin_query;

/// Rows per CSV chunk: memory stays bounded whatever the export's size.
constexpr std::size_t csv_batch_rows = 2000;

/// The audit filter and position of a listing request, or the 400 to answer.
struct audit_query {
  audit_filter filter;
  std::optional<page_position> after;
  std::size_t limit = 100;
};

std::variant<audit_query, http_response> parse_audit_query(const http_request& req,
                                                           std::size_t max_limit) {
  auto p = parse_query(req.query);
  if (!p) {
    return bad_input("malformed query string");
  }
  audit_query q;
  q.filter.username = param(*p, "user");
  q.filter.ip = param(*p, "ip");
  q.filter.event = param(*p, "event");
  if (!parse_time(*p, "from", q.filter.from) || !parse_time(*p, "to", q.filter.to)) {
    return bad_input("from and to must be ISO-8601 dates or times");
  }
  auto limit = parse_limit(*p, 100, max_limit);
  if (!limit) {
    return bad_input("limit must be 1-" + std::to_string(max_limit));
  }
  q.limit = *limit;
  if (auto c = param(*p, "cursor"); !c.empty()) {
    q.after = page_position::decode(c);
    if (!q.after) {
      return bad_input("unknown cursor");
    }
  }
  return q;
}

json event_json(const audit_event& e) {
  return {
    {"id", e.id},
    {"at", format_iso8601(e.timestamp)},
    {"event", e.event_type},
    {"user_id", e.user_id ? json(*e.user_id) : json()},
    {"username", e.username},
    {"session_id", e.session_id.empty() ? json() : json(e.session_id)},
    {"ip", e.ip_address},
    {"user_agent", e.user_agent},
    {"detail", e.error_message},
  };
}

std::string csv_header() {
  return csv_row({"id", "at", "event", "user_id", "username", "session_id", "ip", "user_agent",
                  "status", "detail", "legal_basis"});
}

/// One CSV record of `e`. Rows written before the network input was
/// sanitized may hold invalid UTF-8: the export is `charset=utf-8`, so it is
/// repaired here (U+FFFD); controls stay, quoted by csv_row.
std::string csv_of(const audit_event& e) {
  return sanitize_utf8(csv_row({std::to_string(e.id), format_iso8601(e.timestamp), e.event_type,
                  e.user_id ? std::to_string(*e.user_id) : "", e.username, e.session_id,
                  e.ip_address, e.user_agent, e.status, e.error_message, e.legal_basis}),
                       std::string::npos, utf8_controls::keep);
}

std::string dump(const json& j) {
  return to_json_text(j);
}


} // namespace

void admin_router::audit_action(const http_request& req, const user_record& admin,
                                const std::string& what, bool allowed) const {
  caf::anon_send(deps_.audit, audit_atom::value,
                 audit_event{.timestamp = deps_.clk->now(),
                             .event_type = "admin_action",
                             .user_id = admin.id,
                             .username = admin.username,
                             .ip_address = req.client_ip,
                             .user_agent = req.header("User-Agent").substr(0, 512),
                             .status = allowed ? "success" : "failure",
                             .error_message = what});
}

void admin_router::handle(const http_request& req, responder respond) const {
  deps_.auth->resolve(request_token(req), *deps_.db,
                      [this, req, respond](authenticator::outcome o) {
                        if (o.who) {
                          as_admin(req, o.who->session.user_id, respond);
                        } else if (o.unavailable) {
                          respond(unavailable());
                        } else {
                          respond(error_response(401, "unauthorized",
                                                 "missing, invalid or ended session token"));
                        }
                      });
}

void admin_router::as_admin(const http_request& req, std::int64_t user_id, responder respond) const {
  auto fail = respond;
  bool queued = deps_.db->try_submit(
    [this, req, user_id, respond](soci::session& sql) {
      auto admin = user_repository(sql).find_by_id(user_id);
      if (!admin || !admin->is_admin || !admin->is_active) {
        if (admin) {
          // Denials are part of the record too.
          audit_action(req, *admin, "denied: " + req.method + " " + req.path, false);
        }
        respond(error_response(403, "forbidden", "administrators only"));
        return;
      }
      dispatch(sql, req, *admin, respond);
    },
    [fail](const std::string&) { fail(unavailable()); });
  if (!queued) {
    respond(unavailable());
  }
}

void admin_router::dispatch(soci::session& sql, const http_request& req, const user_record& admin,
                            responder respond) const {
  const std::string& path = req.path;
  const std::string& m = req.method;
  auto method_not_allowed = [&](const char* allow) {
    respond(error_response(405, "method_not_allowed", std::string("use ") + allow)
              .with_header("Allow", allow));
  };
  if (path == "/api/admin/users") {
    if (m == "GET") {
      list_users(sql, req, respond);
    } else if (m == "POST") {
      create_user(req, admin, respond);
    } else {
      method_not_allowed("GET, POST");
    }
    return;
  }
  if (path.rfind("/api/admin/users/", 0) == 0) {
    auto rest = std::string_view(path).substr(17);
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
      if (rest.substr(slash) == "/export" || rest.substr(slash) == "/erase") {
        subject_route(sql, req, admin, rest, respond);
        return;
      }
      user_attribute_route(sql, req, admin, rest.substr(0, slash), rest.substr(slash), respond);
      return;
    }
    auto id = parse_int(rest);
    if (m != "PATCH") {
      method_not_allowed("PATCH");
    } else if (!id) {
      respond(error_response(404, "not_found", "no such user"));
    } else {
      patch_user(req, admin, *id, respond);
    }
    return;
  }
  if (path == "/api/admin/sessions") {
    if (m == "GET") {
      list_sessions(sql, req, respond);
    } else {
      method_not_allowed("GET");
    }
    return;
  }
  if (path == "/api/admin/sessions.csv") {
    if (m == "GET" || m == "HEAD") {
      export_sessions_csv(req, admin, respond);
    } else {
      method_not_allowed("GET, HEAD");
    }
    return;
  }
  if (path == "/api/admin/stats") {
    if (m == "GET") {
      stats(sql, req, respond);
    } else {
      method_not_allowed("GET");
    }
    return;
  }
  if (path.rfind("/api/admin/sessions/", 0) == 0) {
    if (m == "DELETE") {
      end_session(sql, req, admin, path.substr(20), respond);
    } else {
      method_not_allowed("DELETE");
    }
    return;
  }
  if (path == "/api/admin/audit") {
    if (m == "GET") {
      list_audit(sql, req, respond);
    } else {
      method_not_allowed("GET");
    }
    return;
  }
  if (path == "/api/admin/audit.csv") {
    if (m == "GET" || m == "HEAD") {
      export_audit_csv(sql, req, admin, respond);
    } else {
      method_not_allowed("GET, HEAD");
    }
    return;
  }
  respond(error_response(404, "not_found", "no such path"));
}

// -- users --------------------------------------------------------------------

void admin_router::list_users(soci::session& sql, const http_request& req,
                              responder respond) const {
  auto p = parse_query(req.query);
  if (!p) {
    respond(bad_input("malformed query string"));
    return;
  }
  auto limit = parse_limit(*p, 50, 1000);
  auto offset = parse_int(param(*p, "offset").empty() ? "0" : param(*p, "offset"));
  if (!limit || !offset || *offset < 0) {
    respond(bad_input("limit must be 1-1000 and offset >= 0"));
    return;
  }
  auto q = param(*p, "q");
  user_repository users(sql);
  const auto page = users.list(q, *limit, static_cast<std::size_t>(*offset));
  std::vector<std::int64_t> ids;
  for (const auto& u : page) {
    ids.push_back(u.id);
  }
  const auto summaries = user_activity(sql).summaries(ids, deps_.clk->now());
  json list = json::array();
  for (const auto& u : page) {
    auto j = user_json(u);
    // Imported and not yet logged in since: the hash is still the old system's.
    j["legacy_credentials"] = is_legacy_hash(u.password_hash);
    const auto& summary = summaries.at(u.id);
    j["logins_total"] = summary.logins_total;
    j["failures_24h"] = summary.failures_24h;
    j["erased"] = u.erased_at.has_value();
    list.push_back(std::move(j));
  }
  respond(json_response(200, dump(json{{"users", list}, {"total", users.count(q)}})));
}

void admin_router::create_user(const http_request& req, const user_record& admin,
                               responder respond) const {
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    respond(error_response(400, "invalid_json", "the body is not valid JSON"));
    return;
  }
  auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = body.is_object() ? body.find(k) : body.end();
    if (!body.is_object() || it == body.end() || !it->is_string()) {
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  bool types_ok = body.is_object();
  for (const char* k : {"full_name", "email"}) {
    if (types_ok && body.contains(k) && !body[k].is_string() && !body[k].is_null()) {
      types_ok = false;
    }
  }
  if (types_ok && body.contains("is_admin") && !body["is_admin"].is_boolean()) {
    types_ok = false;
  }
  auto username = str("username");
  auto password = str("password");
  if (!types_ok || !username || !password || !is_valid_username(*username) ||
      !is_valid_password(*password)) {
    respond(bad_input("username (3-32 of A-Z a-z 0-9 _ . -) and password (8-1024 bytes) required"));
    return;
  }
  user_record user;
  user.username = *username;
  user.full_name = str("full_name").value_or("");
  user.email = str("email").value_or("");
  user.is_admin = body.value("is_admin", false);
  auto job = [this, req, admin, user, password = *password, respond]() mutable {
    user.password_hash = deps_.hasher->hash(password);
    user.created_at = deps_.clk->now();
    auto fail = respond;
    bool queued = deps_.db->try_submit(
      [this, req, admin, user, respond](soci::session& sql) {
        auto created = user_repository(sql).insert(user);
        if (!created) {
          respond(error_response(409, "username_taken", "username is already taken"));
          return;
        }
        audit_action(req, admin,
                     "create user " + created->username + " (id " + std::to_string(created->id) +
                       (created->is_admin ? ", admin)" : ")"));
        respond(json_response(201, dump(json{{"user", user_json(*created)}})));
      },
      [fail](const std::string&) { fail(unavailable()); });
    if (!queued) {
      respond(unavailable());
    }
  };
  if (!deps_.hashing->try_submit(std::move(job))) {
    respond(unavailable());
  }
}

void admin_router::end_user_session(std::int64_t user_id, const http_request& req,
                                    std::function<void()> then) const {
  auto live = deps_.registry->find(user_id);
  if (!live) {
    then();
    return;
  }
  end_request end{user_id, live->id, end_reason::admin, req.client_ip,
                  req.header("User-Agent").substr(0, 512)};
  // Answer only once the session is over: the caller may test the old token next.
  caf::anon_send(deps_.directory, end_atom::value, std::move(end),
                 end_reply{[then = std::move(then)](bool) { then(); }});
}

void admin_router::patch_user(const http_request& req, const user_record& admin, std::int64_t id,
                              responder respond) const {
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    respond(error_response(400, "invalid_json", "the body is not valid JSON"));
    return;
  }
  if (!body.is_object()) {
    respond(bad_input("the body must be a JSON object"));
    return;
  }
  std::optional<bool> is_active, is_admin;
  std::optional<std::string> password, full_name, email;
  for (auto& [key, value] : body.items()) {
    if ((key == "is_active" || key == "is_admin") && value.is_boolean()) {
      (key == "is_active" ? is_active : is_admin) = value.get<bool>();
    } else if ((key == "password" || key == "full_name" || key == "email") && value.is_string()) {
      (key == "password" ? password : key == "full_name" ? full_name : email) = value.get<std::string>();
    } else {
      respond(bad_input("unknown field or wrong type: " + key));
      return;
    }
  }
  if (password && !is_valid_password(*password)) {
    respond(bad_input("password must be 8-1024 bytes"));
    return;
  }
  if ((full_name && full_name->size() > 200) || (email && email->size() > 254)) {
    respond(bad_input("full_name or email too long"));
    return;
  }
  auto apply = [this, req, admin, id, is_active, is_admin, full_name, email, respond,
                had_password = password.has_value()](std::optional<std::string> hash) {
    auto fail = respond;
    bool queued = deps_.db->try_submit(
      [this, req, admin, id, is_active, is_admin, full_name, email, hash, had_password,
       respond](soci::session& sql) {
        user_repository users(sql);
        auto target = users.find_by_id(id);
        if (!target) {
          respond(error_response(404, "not_found", "no such user"));
          return;
        }
        std::string changes;
        if (is_active) {
          users.set_active(id, *is_active);
          changes += *is_active ? " enable" : " disable";
        }
        if (is_admin) {
          users.set_admin(id, *is_admin);
          changes += *is_admin ? " make-admin" : " revoke-admin";
        }
        if (hash) {
          users.set_password(id, *hash);
          changes += " set-password";
        }
        if (full_name || email) {
          users.update_profile(id, full_name, email);
          changes += " edit-profile";
        }
        audit_action(req, admin,
                     "update user " + target->username + " (id " + std::to_string(id) + "):" +
                       (changes.empty() ? " nothing" : changes));
        auto answer = [respond, body = dump(json{{"user", user_json(*users.find_by_id(id))}})] {
          respond(json_response(200, body));
        };
        // Disabling an account or changing its password ends its live session.
        if ((is_active && !*is_active) || had_password) {
          end_user_session(id, req, answer);
        } else {
          answer();
        }
      },
      [fail](const std::string&) { fail(unavailable()); });
    if (!queued) {
      respond(unavailable());
    }
  };
  if (!password) {
    apply(std::nullopt);
    return;
  }
  bool queued = deps_.hashing->try_submit(
    [this, apply, password = *password] { apply(deps_.hasher->hash(password)); });
  if (!queued) {
    respond(unavailable());
  }
}

// -- user attributes ------------------------------------------------------------

void admin_router::user_attribute_route(soci::session& sql, const http_request& req,
                                        const user_record& admin, std::string_view id_text,
                                        std::string_view rest, responder respond) const {
  auto id = parse_int(id_text);
  const std::string& m = req.method;
  if (rest == "/attributes") {
    if (m != "GET") {
      respond(error_response(405, "method_not_allowed", "use GET").with_header("Allow", "GET"));
    } else if (!id || !user_repository(sql).find_by_id(*id)) {
      respond(error_response(404, "not_found", "no such user"));
    } else {
      json list = json::array();
      for (const auto& a : attribute_repository(sql).list(*id)) {
        list.push_back(attribute_json(a));
      }
      respond(json_response(200, dump(json{{"attributes", list}})));
    }
    return;
  }
  if (rest.rfind("/attributes/", 0) != 0) {
    respond(error_response(404, "not_found", "no such path"));
    return;
  }
  const std::string name{rest.substr(12)};
  if (m != "PUT" && m != "DELETE") {
    respond(error_response(405, "method_not_allowed", "use PUT, DELETE")
              .with_header("Allow", "PUT, DELETE"));
    return;
  }
  std::optional<user_record> user;
  if (id) {
    user = user_repository(sql).find_by_id(*id);
  }
  if (!user) {
    respond(error_response(404, "not_found", "no such user"));
    return;
  }
  if (!is_valid_attribute_name(name)) {
    respond(bad_input("an attribute name is 1-64 of A-Z a-z 0-9 _ . -"));
    return;
  }
  if (m == "PUT") {
    put_attribute(sql, req, admin, *user, name, respond);
    return;
  }
  if (!attribute_repository(sql).remove(user->id, name)) {
    respond(error_response(404, "not_found", "no such attribute"));
    return;
  }
  audit_action(req, admin,
               "delete attribute " + name + " of " + user->username + " (id " +
                 std::to_string(user->id) + ")");
  http_response r;
  r.status = 204;
  r.content_type.clear();
  respond(std::move(r));
}

void admin_router::put_attribute(soci::session& sql, const http_request& req,
                                 const user_record& admin, const user_record& user,
                                 const std::string& name, responder respond) const {
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    respond(error_response(400, "invalid_json", "the body is not valid JSON"));
    return;
  }
  if (!body.is_object() || !body.contains("value")) {
    respond(bad_input("the body is {value, type?}"));
    return;
  }
  for (auto& [key, value] : body.items()) {
    if (key != "value" && !(key == "type" && value.is_string())) {
      respond(bad_input("unknown field or wrong type: " + key));
      return;
    }
  }
  const std::string type = body.value("type", std::string());
  if (!type.empty() && !is_attribute_type(type)) {
    respond(bad_input("type must be string, integer, float, boolean or json"));
    return;
  }
  auto attribute = attribute_from_json(name, body["value"], type);
  if (!attribute) {
    respond(bad_input("the value is not a " + (type.empty() ? std::string("string, number, boolean, object or array") : type) +
                      " (strings at most 4096 bytes)"));
    return;
  }
  attribute_repository(sql).put(user.id, *attribute);
  audit_action(req, admin,
               "set attribute " + name + " (" + attribute->type + ") of " + user.username +
                 " (id " + std::to_string(user.id) + ")");
  respond(json_response(200, dump(json{{"attribute", attribute_json(*attribute)}})));
}

// -- sessions -------------------------------------------------------------------

void admin_router::end_session(soci::session& sql, const http_request& req,
                               const user_record& admin, const std::string& id,
                               responder respond) const {
  auto s = session_repository(sql).find(id);
  if (!s || s->logout_ts || !deps_.registry->is_live(s->user_id, id)) {
    respond(error_response(404, "not_found", "no such live session"));
    return;
  }
  audit_action(req, admin,
               "end session " + id.substr(0, 8) + " of " + s->username + " (id " + std::to_string(s->user_id) + ")");
  end_request end{s->user_id, id, end_reason::admin, req.client_ip,
                  req.header("User-Agent").substr(0, 512)};
  end_reply reply = [respond](bool ended) {
    if (!ended) {
      respond(error_response(404, "not_found", "no such live session"));
      return;
    }
    http_response r;
    r.status = 204;
    r.content_type.clear();
    respond(std::move(r));
  };
  caf::anon_send(deps_.directory, end_atom::value, std::move(end), std::move(reply));
}

// -- audit log --------------------------------------------------------------------

void admin_router::list_audit(soci::session& sql, const http_request& req,
                              responder respond) const {
  auto parsed = parse_audit_query(req, 1000);
  if (auto* err = std::get_if<http_response>(&parsed)) {
    respond(std::move(*err));
    return;
  }
  auto& q = std::get<audit_query>(parsed);
  // One row more than the page: see list_sessions.
  auto rows = login_log_repository(sql).page(q.filter, q.limit + 1, q.after);
  const bool more = rows.size() > q.limit;
  rows.resize(std::min(rows.size(), q.limit));
  json list = json::array();
  for (const auto& e : rows) {
    list.push_back(event_json(e));
  }
  json next;
  if (more) {
    next = page_position{format_iso8601(rows.back().timestamp), rows.back().id, ""}.encode();
  }
  respond(json_response(200, dump(json{{"events", list}, {"next_cursor", next}})));
}

void admin_router::export_audit_csv(soci::session& sql, const http_request& req, const user_record& admin,
                                    responder respond) const {
  auto parsed = parse_audit_query(req, 1000);
  if (auto* err = std::get_if<http_response>(&parsed)) {
    respond(std::move(*err));
    return;
  }
  auto& q = std::get<audit_query>(parsed);
  const auto proof = param(*parse_query(req.query), "proof");
  const bool with_proof = proof == "1" || proof == "true";
  if (with_proof && (!q.filter.ip.empty() || !q.filter.event.empty())) {
    respond(bad_input("a proof covers a time range and at most one account (user=): ip and event "
                      "filters cannot be proven"));
    return;
  }
  http_response r;
  r.content_type = "text/csv; charset=utf-8";
  r.with_header("Content-Disposition", with_proof ? "attachment; filename=\"solod-audit-proof.csv\""
                                                  : "attachment; filename=\"solod-audit.csv\"");
  r.with_header("Cache-Control", "no-store");
  if (req.method == "HEAD") {
    // The header of the export and nothing else: no query, no body (the
    // session sends only the header of a streamed answer to a HEAD).
    r.stream = [](std::shared_ptr<chunk_sink>) {};
    respond(std::move(r));
    return;
  }
  audit_action(req, admin, "export audit csv" + (req.query.empty() ? "" : " ?" + req.query.substr(0, 200)));
  if (with_proof) {
    stream_audit_proof(sql, q.filter, std::move(r), respond);
    return;
  }
  r.stream = csv_stream(*deps_.db, csv_header(),
                        [filter = q.filter, after = std::optional<page_position>()](
                          soci::session& sql, std::string& chunk) mutable {
                          auto rows = login_log_repository(sql).page(filter, csv_batch_rows, after);
                          for (const auto& e : rows) {
                            chunk += csv_of(e);
                          }
                          if (rows.size() < csv_batch_rows) {
                            return false;
                          }
                          after = page_position{format_iso8601(rows.back().timestamp), rows.back().id, ""};
                          return true;
                        });
  respond(std::move(r));
}

void admin_router::stream_audit_proof(soci::session& sql, const audit_filter& filter, http_response r,
                                      responder respond) const {
  if (deps_.audit_signer == nullptr) {
    respond(unavailable());
    return;
  }
  auto writer = std::make_shared<proof_report_writer>(proof_scope{filter.from, filter.to, filter.username},
                                                      false);
  std::string opening;
  // Events this node holds (a batch on its way) are committed first, so the
  // report's closing checkpoint covers them. (The admin's own export row is among them.)
  if (!audit_flushed()) {
    respond(unavailable());
    return;
  }
  try {
    // The checkpoint that ends the report is signed now: it covers every row committed so far.
    opening = writer->begin(sql, *deps_.audit_signer, deps_.clk->now());
  } catch (const proof_error& e) {
    respond(error_response(404, "not_found", e.what()));
    return;
  } catch (const chain_break& e) {
    spdlog::critical("audit: {}", e.what());
    respond(error_response(409, "chain_broken", "the audit chain was changed since it was last signed: "
                                                "run solod audit verify"));
    return;
  }
  r.stream = csv_stream(*deps_.db, std::move(opening),
                        [writer](soci::session& sql, std::string& chunk) { return writer->next(sql, chunk); });
  respond(std::move(r));
}

} // namespace solod
