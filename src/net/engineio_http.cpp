#include "net/engineio_http.hpp"

#include "net/api_router.hpp"
#include "net/engineio_registry.hpp"
#include "net/engineio_session.hpp"
#include "net/net_context.hpp"
#include "net/origin_policy.hpp"
#include "util/query_string.hpp"
#include "util/random.hpp"

#include <map>
#include <optional>

namespace solod {

namespace {

/// The parsed query, or the response that refuses the request.
std::variant<http_response, std::map<std::string, std::string>> checked_query(
  const net_context& ctx, const http_request& req, std::string_view transport) {
  if (!origin_allowed(req.header("Origin"), req.header("Host"), ctx.cfg->server.allowed_origins)) {
    return error_response(403, "forbidden", "origin not allowed");
  }
  auto q = parse_query(req.query);
  if (!q) {
    return error_response(400, "bad_request", "malformed query string");
  }
  auto eio = q->find("EIO");
  if (eio == q->end() || eio->second != "4") {
    return error_response(400, "bad_request",
                          "unsupported Engine.IO protocol version: solod speaks EIO=4 "
                          "(socket.io-client 3.x and 4.x)");
  }
  auto t = q->find("transport");
  if (t == q->end() || t->second != transport) {
    return error_response(400, "bad_request",
                          "transport must be polling (HTTP) or websocket (WebSocket upgrade)");
  }
  return std::move(*q);
}

http_response unknown_sid() {
  return error_response(400, "unknown_sid",
                        "unknown Engine.IO session id (sid): the session has ended, or another "
                        "node holds it (long-polling behind a load balancer needs sticky sessions)");
}

} // namespace

bool is_engineio_target(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return path == engineio_path || path == engineio_path.substr(0, engineio_path.size() - 1);
}

connection_info engineio_connection_info(const http_request& req, std::string transport) {
  connection_info info;
  info.id = random_hex(16);
  info.ip = req.client_ip;
  info.user_agent = req.header("User-Agent");
  info.connected_at = std::chrono::system_clock::now();
  info.protocol = wire_protocol::socketio;
  info.transport = std::move(transport);
  return info;
}

void serve_engineio_polling(const net_context& ctx, const http_request& req,
                            boost::asio::any_io_executor home, responder respond) {
  if (req.method != "GET" && req.method != "POST") {
    respond(error_response(405, "method_not_allowed", "Engine.IO polling takes GET and POST")
              .with_header("Allow", "GET, POST"));
    return;
  }
  auto checked = checked_query(ctx, req, "polling");
  if (auto* refused = std::get_if<http_response>(&checked)) {
    respond(std::move(*refused));
    return;
  }
  const auto& q = std::get<std::map<std::string, std::string>>(checked);
  auto sid = q.find("sid");
  if (sid == q.end()) {
    if (req.method != "GET") {
      respond(error_response(400, "bad_request", "a session opens with GET; POST needs a sid"));
      return;
    }
    if (ctx.engineio->size() >= static_cast<std::size_t>(ctx.cfg->server.max_connections)) {
      respond(error_response(503, "unavailable", "too many Socket.IO sessions; try again later")
                .with_header("Retry-After", "1"));
      return;
    }
    // Counted per client address like a socket: one address must not open
    // sessions (each an actor) by the thousand with a GET each.
    connection_slot slot;
    if (ctx.limiter) {
      slot = ctx.limiter->try_admit(req.client_ip);
      if (!slot) {
        respond(error_response(503, "unavailable",
                               "too many connections from this address; try again later")
                  .with_header("Retry-After", "1"));
        return;
      }
    }
    auto session = std::make_shared<engineio_session>(ctx, home, random_hex(16),
                                                      engineio_connection_info(req, "polling"));
    session->hold(std::move(slot));
    http_response r;
    r.content_type = "text/plain; charset=UTF-8";
    r.body = session->start(request_token(req), nullptr);
    r.with_header("Cache-Control", "no-store");
    respond(std::move(r));
    return;
  }
  auto session = ctx.engineio->find(sid->second);
  if (!session) {
    respond(unknown_sid());
    return;
  }
  if (req.method == "GET") {
    session->poll(std::move(respond));
  } else {
    session->post(req.body, std::move(respond));
  }
}

engineio_upgrade check_engineio_upgrade(const net_context& ctx, const http_request& req) {
  auto checked = checked_query(ctx, req, "websocket");
  if (auto* refused = std::get_if<http_response>(&checked)) {
    return std::move(*refused);
  }
  const auto& q = std::get<std::map<std::string, std::string>>(checked);
  auto sid = q.find("sid");
  if (sid == q.end()) {
    if (ctx.engineio->size() >= static_cast<std::size_t>(ctx.cfg->server.max_connections)) {
      return error_response(503, "unavailable", "too many Socket.IO sessions; try again later")
        .with_header("Retry-After", "1");
    }
    return std::shared_ptr<engineio_session>();
  }
  auto session = ctx.engineio->find(sid->second);
  if (!session) {
    return unknown_sid();
  }
  return session;
}

} // namespace solod
