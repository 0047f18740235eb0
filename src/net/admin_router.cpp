#include "net/admin_router.hpp"

#include "actors/messages.hpp"
#include "storage/cluster_repository.hpp"
#include "storage/session_registry.hpp"
#include "auth/authenticator.hpp"
#include "auth/credentials.hpp"
#include "auth/hashing_pool.hpp"
#include "auth/legacy_hash.hpp"
#include "auth/password_hasher.hpp"
#include "net/json_views.hpp"
#include "storage/attribute_repository.hpp"
#include "storage/db_pool.hpp"
#include "storage/login_log_repository.hpp"
#include "storage/session_repository.hpp"
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
using params = std::map<std::string, std::string>;

/// Rows per CSV chunk: memory stays bounded whatever the export's size.
constexpr std::size_t csv_batch_rows = 2000;

http_response unavailable() {
  return error_response(503, "unavailable", "database unavailable").with_header("Retry-After", "1");
}

http_response bad_input(const std::string& message) {
  return error_response(400, "invalid_input", message);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

/// The query's limit (1..max, default `fallback`); nothing when malformed.
std::optional<std::size_t> parse_limit(const params& p, std::size_t fallback, std::size_t max) {
  auto it = p.find("limit");
  if (it == p.end() || it->second.empty()) {
    return fallback;
  }
  auto v = parse_int(it->second);
  if (!v || *v < 1 || static_cast<std::size_t>(*v) > max) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(*v);
}

/// Reads a time filter; false when present but not ISO-8601.
bool parse_time(const params& p, const char* key, std::optional<time_point>& out) {
  auto it = p.find(key);
  if (it == p.end() || it->second.empty()) {
    return true;
  }
  out = parse_iso8601(it->second);
  return out.has_value();
}

std::string param(const params& p, const char* key) {
  auto it = p.find(key);
  return it == p.end() ? "" : it->second;
}

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

json attribute_json(const user_attribute& a) {
  return {{"name", a.name}, {"type", a.type}, {"value", attribute_value_json(a)}};
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
      export_audit_csv(req, admin, respond);
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
  json list = json::array();
  for (const auto& u : users.list(q, *limit, static_cast<std::size_t>(*offset))) {
    auto j = user_json(u);
    // Imported and not yet logged in since: the hash is still the old system's.
    j["legacy_credentials"] = is_legacy_hash(u.password_hash);
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

void admin_router::list_sessions(soci::session& sql, const http_request& req,
                                 responder respond) const {
  auto p = parse_query(req.query);
  if (!p) {
    respond(bad_input("malformed query string"));
    return;
  }
  session_filter filter;
  auto active = param(*p, "active");
  if (!active.empty() && active != "true" && active != "false") {
    respond(bad_input("active must be true or false"));
    return;
  }
  filter.active_only = active == "true";
  filter.username = param(*p, "user");
  filter.ip = param(*p, "ip");
  if (!parse_time(*p, "from", filter.from) || !parse_time(*p, "to", filter.to)) {
    respond(bad_input("from and to must be ISO-8601 dates or times"));
    return;
  }
  auto limit = parse_limit(*p, 50, 1000);
  if (!limit) {
    respond(bad_input("limit must be 1-1000"));
    return;
  }
  std::optional<page_position> after;
  if (auto c = param(*p, "cursor"); !c.empty()) {
    after = page_position::decode(c);
    if (!after) {
      respond(bad_input("unknown cursor"));
      return;
    }
  }
  // One row more than the page: it says whether another page exists, so the
  // cursor is null on the last page even when that page is exactly full.
  auto rows = session_repository(sql).page(filter, *limit + 1, after);
  const bool more = rows.size() > *limit;
  rows.resize(std::min(rows.size(), *limit));
  json list = json::array();
  for (const auto& s : rows) {
    // Live sessions: their connections on every node, and which node holds each.
    json connection_list = json::array();
    if (!s.logout_ts) {
      for (const auto& c : cluster_repository(sql).connections_of(s.id)) {
        connection_list.push_back(json{{"id", c.connection_id.substr(0, 8)},
                                       {"node", c.node_id},
                                       {"ip", c.ip_address},
                                       {"connected_at", format_iso8601(c.connected_at)}});
      }
    }
    auto connections = connection_list.size();
    list.push_back(json{
      {"id", s.id},
      {"user_id", s.user_id},
      {"username", s.username},
      {"created_at", format_iso8601(s.login_ts)},
      {"ended_at", s.logout_ts ? json(format_iso8601(*s.logout_ts)) : json()},
      {"end_reason", s.end_reason.empty() ? json() : json(s.end_reason)},
      {"ip", s.ip_address},
      {"user_agent", s.user_agent},
      {"connections", connections},
      {"connection_list", std::move(connection_list)},
    });
  }
  json next;
  if (more) {
    next = page_position{format_iso8601(rows.back().login_ts), 0, rows.back().id}.encode();
  }
  respond(json_response(200, dump(json{{"sessions", list}, {"next_cursor", next}})));
}

void admin_router::end_session(soci::session& sql, const http_request& req,
                               const user_record& admin, const std::string& id,
                               responder respond) const {
  auto s = session_repository(sql).find(id);
  if (!s || s->logout_ts || !deps_.registry->is_live(s->user_id, id)) {
    respond(error_response(404, "not_found", "no such live session"));
    return;
  }
  audit_action(req, admin, "end session " + id.substr(0, 8) + " of " + s->username);
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

namespace {

/// Produces the CSV export one batch at a time: query a batch on the
/// database pool, write it, and only when it is on the wire query the next.
struct csv_export : std::enable_shared_from_this<csv_export> {
  db_pool* db = nullptr;
  audit_filter filter;
  std::optional<page_position> after;
  std::shared_ptr<chunk_sink> sink;
  bool first = true;

  void next() {
    auto self = shared_from_this();
    bool queued = db->try_submit(
      [self](soci::session& sql) {
        auto rows = login_log_repository(sql).page(self->filter, csv_batch_rows, self->after);
        std::string chunk;
        if (self->first) {
          chunk = csv_header();
          self->first = false;
        }
        for (const auto& e : rows) {
          chunk += csv_of(e);
        }
        bool more = rows.size() == csv_batch_rows;
        if (more) {
          self->after = page_position{format_iso8601(rows.back().timestamp), rows.back().id, ""};
        }
        if (chunk.empty()) {
          self->sink->finish();
          return;
        }
        self->sink->write(std::move(chunk), [self, more](bool ok) {
          if (!ok) {
            return; // the client went away
          }
          if (more) {
            self->next();
          } else {
            self->sink->finish();
          }
        });
      },
      [self](const std::string& what) {
        // The header is out: all that is left is to cut the body short.
        spdlog::error("audit export failed: {}", what);
        self->sink->abort();
      });
    if (!queued) {
      sink->abort();
    }
  }
};

} // namespace

void admin_router::export_audit_csv(const http_request& req, const user_record& admin,
                                    responder respond) const {
  auto parsed = parse_audit_query(req, 1000);
  if (auto* err = std::get_if<http_response>(&parsed)) {
    respond(std::move(*err));
    return;
  }
  auto& q = std::get<audit_query>(parsed);
  http_response r;
  r.content_type = "text/csv; charset=utf-8";
  r.with_header("Content-Disposition", "attachment; filename=\"solod-audit.csv\"");
  r.with_header("Cache-Control", "no-store");
  if (req.method == "HEAD") {
    // The header of the export and nothing else: no query, no body (the
    // session sends only the header of a streamed answer to a HEAD).
    r.stream = [](std::shared_ptr<chunk_sink>) {};
    respond(std::move(r));
    return;
  }
  audit_action(req, admin, "export audit csv" + (req.query.empty() ? "" : " ?" + req.query.substr(0, 200)));
  auto job = std::make_shared<csv_export>();
  job->db = deps_.db;
  job->filter = q.filter;
  r.stream = [job](std::shared_ptr<chunk_sink> sink) {
    job->sink = std::move(sink);
    job->next();
  };
  respond(std::move(r));
}

} // namespace solod
