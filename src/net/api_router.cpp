#include "net/api_router.hpp"

#include "actors/online_board.hpp"

#include "actors/messages.hpp"
#include "storage/session_registry.hpp"
#include "auth/authenticator.hpp"
#include "auth/jwt.hpp"
#include "auth/login_service.hpp"
#include "auth/service_clients.hpp"
#include "config/config.hpp"
#include "net/admin_router.hpp"
#include "net/json_views.hpp"
#include "net/openapi_document.hpp"
#include "net/origin_policy.hpp"
#include "net/static_files.hpp"
#include "storage/db_pool.hpp"
#include "storage/user_repository.hpp"
#include "util/json_text.hpp"
#include "util/metrics.hpp"
#include "util/query_string.hpp"
#include "util/random.hpp"
#include "util/time_format.hpp"
#include "util/utf8.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include <algorithm>
#include <set>

namespace solod {

namespace {

using json = nlohmann::json;

const char* const cookie_name = "solod_session";

/// Parses a JSON object body; an error response when it is not one.
std::variant<json, http_response> parse_object(const http_request& req) {
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    return error_response(400, "invalid_json", "the body is not valid JSON");
  }
  if (!body.is_object()) {
    return error_response(400, "invalid_input", "the body must be a JSON object");
  }
  return body;
}

/// A string field; nothing when absent, an error when present but not a string.
std::optional<std::string> string_field(const json& body, const char* name, bool& type_error) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    return std::nullopt;
  }
  if (!it->is_string()) {
    type_error = true;
    return std::nullopt;
  }
  return it->get<std::string>();
}

http_response unauthorized() {
  return error_response(401, "unauthorized", "missing, invalid or ended session token");
}

http_response unavailable(const std::string& why) {
  return error_response(503, "unavailable", why).with_header("Retry-After", "1");
}


std::string session_cookie(const std::string& token, long long max_age, bool secure) {
  std::string c = std::string(cookie_name) + "=" + token +
                  "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(max_age);
  if (secure) {
    c += "; Secure";
  }
  return c;
}

client_info client_of(const http_request& req) {
  // The User-Agent is already valid UTF-8 of at most 512 bytes (http_session).
  return client_info{req.client_ip, req.header("User-Agent"), req.client_gone};
}

} // namespace

std::string request_token(const http_request& req) {
  const auto& authz = req.header("Authorization");
  if (authz.size() > 7 && strncasecmp(authz.data(), "Bearer ", 7) == 0) {
    return authz.substr(7);
  }
  const auto& cookies = req.header("Cookie");
  std::string_view rest = cookies;
  while (!rest.empty()) {
    auto end = rest.find(';');
    auto part = rest.substr(0, end);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == cookie_name) {
      return std::string(part.substr(eq + 1));
    }
    if (end == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(end + 1);
  }
  return {};
}

api_router::api_router(api_deps deps)
  : deps_(std::move(deps)), admin_(std::make_unique<admin_router>(deps_)) {}

api_router::~api_router() = default;

void api_router::handle(http_request req, responder respond) const {
  // CSRF: a state-changing request from a browser page of another site is
  // refused (the SameSite=Strict cookie already keeps the session out of it;
  // this checks the Origin header too).
  if (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS") {
    const auto& origin = req.header("Origin");
    if (!origin_allowed(origin, req.header("Host"), deps_.cfg->server.allowed_origins)) {
      respond(error_response(403, "forbidden", "cross-site request refused"));
      return;
    }
  }
  if (req.path.rfind("/api/admin/", 0) == 0) {
    admin_->handle(req, std::move(respond));
    return;
  }
  struct route {
    const char* path;
    const char* method;
    void (api_router::*handler)(const http_request&, responder) const;
  };
  static const route routes[] = {
    {"/api/register", "POST", &api_router::do_register},
    {"/register", "POST", &api_router::do_register},
    {"/api/login", "POST", &api_router::do_login},
    {"/login-token", "POST", &api_router::do_login},
    {"/api/logout", "POST", &api_router::do_logout},
    {"/logout", "POST", &api_router::do_logout},
    {"/api/me", "GET", &api_router::do_me},
    {"/api/me/activity", "GET", &api_router::do_activity},
    {"/protected", "GET", &api_router::do_me},
    {"/api/online", "GET", &api_router::do_online},
    {"/api/introspect", "POST", &api_router::do_introspect},
  };
  for (const auto& r : routes) {
    if (req.path != r.path) {
      continue;
    }
    if (req.method != r.method) {
      respond(error_response(405, "method_not_allowed", "use " + std::string(r.method))
                .with_header("Allow", r.method));
      return;
    }
    (this->*r.handler)(req, std::move(respond));
    return;
  }
  if (req.path == "/healthz" || req.path == "/metrics") {
    if (req.method != "GET" && req.method != "HEAD") {
      respond(error_response(405, "method_not_allowed", "use GET or HEAD")
                .with_header("Allow", "GET, HEAD"));
      return;
    }
    if (req.path == "/healthz") {
      do_healthz(std::move(respond));
    } else {
      http_response r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = deps_.stats->render();
      respond(std::move(r));
    }
    return;
  }
  if (req.path == "/api/openapi.json") {
    if (req.method != "GET" && req.method != "HEAD") {
      respond(error_response(405, "method_not_allowed", "use GET or HEAD")
                .with_header("Allow", "GET, HEAD"));
      return;
    }
    // docs/openapi.json as built in; the same for the binary's whole life.
    http_response r;
    r.body = std::string(openapi_document());
    r.with_header("Cache-Control", "no-cache");
    respond(std::move(r));
    return;
  }
  if (req.path.rfind("/api/", 0) != 0 && (req.method == "GET" || req.method == "HEAD") &&
      deps_.files) {
    if (auto page = deps_.files->serve(req.path)) {
      respond(std::move(*page));
      return;
    }
  }
  respond(error_response(404, "not_found", "no such path"));
}

namespace {

/// The fields of a register or login body, or the error to answer.
struct credentials_body {
  std::string username, password;
  std::optional<std::string> full_name, email;
};

std::optional<credentials_body> read_credentials(const http_request& req, responder& respond) {
  auto parsed = parse_object(req);
  if (auto* err = std::get_if<http_response>(&parsed)) {
    respond(std::move(*err));
    return std::nullopt;
  }
  const auto& body = std::get<json>(parsed);
  bool type_error = false;
  auto username = string_field(body, "username", type_error);
  auto password = string_field(body, "password", type_error);
  auto full_name = string_field(body, "full_name", type_error);
  auto email = string_field(body, "email", type_error);
  if (type_error || !username || !password) {
    respond(error_response(400, "invalid_input", "username and password must be strings"));
    return std::nullopt;
  }
  return credentials_body{std::move(*username), std::move(*password), std::move(full_name),
                          std::move(email)};
}

} // namespace

void api_router::do_register(const http_request& req, responder respond) const {
  auto fields = read_credentials(req, respond);
  if (!fields) {
    return;
  }
  auto& [username, password, full_name, email] = *fields;
  if (full_name.value_or("").size() > 200 || email.value_or("").size() > 254) {
    respond(error_response(400, "invalid_input", "full_name or email too long"));
    return;
  }
  user_record user;
  user.username = username;
  user.full_name = full_name.value_or("");
  user.email = email.value_or("");
  deps_.logins->register_user(std::move(user), password, client_of(req),
                              [respond](register_result r) {
    switch (r.result) {
      case register_result::status::created:
        respond(json_response(201, to_json_text(json{{"user", user_json(r.user)}})));
        return;
      case register_result::status::invalid_input:
        respond(error_response(400, "invalid_input", r.message));
        return;
      case register_result::status::username_taken:
        respond(error_response(409, "username_taken", r.message));
        return;
      case register_result::status::disabled:
        respond(error_response(403, "registration_disabled", r.message));
        return;
      case register_result::status::rate_limited:
        respond(error_response(429, "rate_limited", r.message)
                  .with_header("Retry-After", std::to_string(r.retry_after_seconds)));
        return;
      case register_result::status::unavailable:
        respond(unavailable(r.message));
        return;
    }
  });
}

void api_router::do_login(const http_request& req, responder respond) const {
  auto fields = read_credentials(req, respond);
  if (!fields) {
    return;
  }
  const auto& password = fields->password;
  if (fields->username.size() > 64 || password.size() > 1024) {
    // Over the limits no account can match; answer like any wrong credential.
    respond(error_response(401, "invalid_credentials", "invalid username or password"));
    return;
  }
  // A failed login audits the name as typed: JSON escapes can carry NUL and
  // other controls, which no valid username holds, so replacing them changes
  // no match and keeps them out of the audit log and its CSV export.
  const auto username = sanitize_utf8(fields->username);
  auto deps = deps_;
  bool secure = req.secure;
  deps_.logins->login(username, password, client_of(req),
                      [deps, secure, respond](login_result r) {
    switch (r.result) {
      case login_result::status::ok: {
        auto now = deps.clk->now();
        token_claims claims;
        claims.sub = std::to_string(r.user.id);
        claims.name = r.user.username;
        claims.sid = r.session.id;
        claims.jti = random_hex(16);
        claims.iat = to_unix_seconds(r.session.login_ts);
        claims.exp = to_unix_seconds(r.session.expires_at);
        auto token = deps.tokens->sign(claims);
        auto expires_in = std::max<long long>(0, claims.exp - to_unix_seconds(now));
        json out{
          {"token", token},
          {"token_type", "Bearer"},
          {"expires_in", expires_in},
          {"session", {{"id", r.session.id}, {"created_at", format_iso8601(r.session.login_ts)}}},
          {"user", user_json(r.user)},
        };
        respond(json_response(200, to_json_text(out))
                  .with_header("Set-Cookie", session_cookie(token, expires_in, secure))
                  .with_header("Cache-Control", "no-store"));
        return;
      }
      case login_result::status::invalid_credentials:
        respond(error_response(401, "invalid_credentials", "invalid username or password"));
        return;
      case login_result::status::rate_limited:
        respond(error_response(429, "rate_limited", "too many login attempts; try again later")
                  .with_header("Retry-After", std::to_string(r.retry_after_seconds)));
        return;
      case login_result::status::session_active:
        respond(error_response(409, "session_active",
                               "this account already has a live session"));
        return;
      case login_result::status::unavailable:
        respond(unavailable("the server cannot complete logins right now"));
        return;
    }
  });
}

void api_router::with_principal(const http_request& req, responder respond,
                                std::function<void(principal)> next) const {
  deps_.auth->resolve(request_token(req), *deps_.db,
                      [respond, next = std::move(next)](authenticator::outcome o) {
                        if (o.who) {
                          next(std::move(*o.who));
                        } else if (o.unavailable) {
                          respond(unavailable("sessions cannot be checked right now"));
                        } else {
                          respond(unauthorized());
                        }
                      });
}

void api_router::do_logout(const http_request& req, responder respond) const {
  with_principal(req, respond, [this, req, respond](principal p) { logout(req, p, respond); });
}

void api_router::logout(const http_request& req, const principal& p, responder respond) const {
  auto client = client_of(req);
  end_request end{p.session.user_id, p.session.id, end_reason::logout, client.ip,
                  client.user_agent};
  bool secure = req.secure;
  end_reply reply = [respond, secure](bool) {
    http_response r;
    r.status = 204;
    r.content_type.clear();
    r.with_header("Set-Cookie", session_cookie("", 0, secure));
    respond(std::move(r));
  };
  caf::anon_send(deps_.directory, end_atom::value, std::move(end), std::move(reply));
}

void api_router::do_me(const http_request& req, responder respond) const {
  with_principal(req, respond, [this, respond](principal p) { me(p, respond); });
}

void api_router::me(const principal& who, responder respond) const {
  auto session = who.session;
  auto fail = respond;
  bool queued = deps_.db->try_submit(
    [session, respond](soci::session& sql) {
      auto user = user_repository(sql).find_by_id(session.user_id);
      if (!user) {
        respond(unauthorized());
        return;
      }
      respond(json_response(
        200, to_json_text(json{{"user", user_json(*user)}, {"session", session_json(session)}})));
    },
    [fail](const std::string&) { fail(unavailable("database unavailable")); });
  if (!queued) {
    respond(unavailable("server busy"));
  }
}

void api_router::do_online(const http_request& req, responder respond) const {
  with_principal(req, respond, [this, respond](principal) { online(respond); });
}

void api_router::online(responder respond) const {
  // Online means at least one open WebSocket connection, on any node.
  json users = json::array();
  for (auto& n : deps_.online->names()) {
    users.push_back(std::move(n));
  }
  auto count = users.size();
  respond(json_response(200, to_json_text(json{{"users", std::move(users)}, {"count", count}})));
}

void api_router::do_introspect(const http_request& req, responder respond) const {
  const auto client = deps_.services ? deps_.services->authenticate(req.header("Authorization"))
                                     : std::nullopt;
  if (!client) {
    deps_.stats->count_introspection(metrics::introspection_result::refused);
    respond(error_response(401, "invalid_client", "service client authentication failed")
              .with_header("WWW-Authenticate", "Basic realm=\"solod\", charset=\"UTF-8\""));
    return;
  }
  constexpr std::string_view form_type = "application/x-www-form-urlencoded";
  const auto& type = req.header("Content-Type");
  const auto form = parse_query(req.body);
  if (strncasecmp(type.c_str(), form_type.data(), form_type.size()) != 0 || !form ||
      !form->contains("token")) {
    respond(error_response(400, "invalid_request",
                           "the body must be application/x-www-form-urlencoded with token=..."));
    return;
  }
  // The same check as /api/me: a superseded or ended session is inactive at
  // once, and a live one counts as used (its idle timer starts again).
  auto* stats = deps_.stats;
  deps_.auth->resolve(form->at("token"), *deps_.db, [respond, stats](authenticator::outcome o) {
    if (o.unavailable) {
      respond(unavailable("sessions cannot be checked right now"));
      return;
    }
    json out{{"active", false}};
    if (o.who) {
      const auto& c = o.who->claims;
      out = json{{"active", true}, {"sub", c.sub},     {"username", c.name},
                 {"sid", c.sid},   {"jti", c.jti},     {"exp", c.exp},
                 {"iat", c.iat},   {"iss", "solod"},   {"token_type", "Bearer"}};
    }
    stats->count_introspection(o.who ? metrics::introspection_result::active
                                     : metrics::introspection_result::inactive);
    respond(json_response(200, to_json_text(out)).with_header("Cache-Control", "no-store"));
  });
}

void api_router::do_healthz(responder respond) const {
  auto unhealthy = [](std::string why) {
    http_response r;
    r.status = 503;
    r.content_type = "text/plain";
    r.body = std::move(why);
    r.with_header("Retry-After", "1");
    return r;
  };
  auto fail = respond;
  const db_pool* db = deps_.db;
  // Healthy means the database answers now, within database.wait_timeout.
  bool queued = deps_.db->try_submit(
    [respond, db](soci::session& sql) {
      db->check_reachable(sql);
      http_response r;
      r.content_type = "text/plain";
      r.body = "ok";
      respond(std::move(r));
    },
    [fail, unhealthy](const std::string&) { fail(unhealthy("database unavailable")); });
  if (!queued) {
    respond(unhealthy("busy"));
  }
}

} // namespace solod
