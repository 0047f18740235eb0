#pragma once
/// @brief The HTTP API of SPEC §3: routes each request to its handler.

#include "net/http_message.hpp"

#include <caf/actor.hpp>

#include <functional>
#include <memory>

#include <string>

namespace solod {

class checkpoint_signer;

class admin_router;
class authenticator;
struct principal;
class clock;
class db_pool;
class hashing_pool;
class password_hasher;
class login_service;
class session_registry;
class service_clients;
class static_files;
class token_codec;
struct config;
struct metrics;
class online_board;

/// What the handlers work with; owned by the server.
struct api_deps {
  const config* cfg = nullptr;
  const clock* clk = nullptr;
  login_service* logins = nullptr;
  const authenticator* auth = nullptr;
  const token_codec* tokens = nullptr;
  const session_registry* registry = nullptr;
  db_pool* db = nullptr;
  caf::actor directory;
  metrics* stats = nullptr;
  const static_files* files = nullptr;
  const password_hasher* hasher = nullptr;
  hashing_pool* hashing = nullptr;
  caf::actor audit;
  /// Who is online on every node (kept by the presence actor).
  const online_board* online = nullptr;
  /// The clients of `POST /api/introspect` (none: every call is refused).
  const service_clients* services = nullptr;
  /// Signs the checkpoint that ends an audit export with its proof (none: refused).
  checkpoint_signer* audit_signer = nullptr;
};

/// Dispatches requests: the API, its compatibility aliases, health, metrics, pages,
/// and the OpenAPI document of them all (`GET /api/openapi.json`).
class api_router {
public:
  explicit api_router(api_deps deps);
  ~api_router();

  /// Handles `req`; `respond` is called exactly once, maybe on another thread.
  void handle(http_request req, responder respond) const;

private:
  void do_register(const http_request& req, responder respond) const;
  void do_login(const http_request& req, responder respond) const;
  void do_logout(const http_request& req, responder respond) const;
  void do_me(const http_request& req, responder respond) const;
  void do_online(const http_request& req, responder respond) const;
  /// `/api/me/activity`: the caller's own recent logins, failures, kicks (me_activity.cpp).
  void do_activity(const http_request& req, responder respond) const;
  /// RFC 7662 token introspection for the team's other services.
  void do_introspect(const http_request& req, responder respond) const;
  void logout(const http_request& req, const principal& who, responder respond) const;
  void me(const principal& who, responder respond) const;
  void online(responder respond) const;
  /// Runs `next` with the request's principal (see authenticator::resolve),
  /// or answers 401, or 503 while sessions cannot be checked.
  void with_principal(const http_request& req, responder respond,
                      std::function<void(principal)> next) const;
  void do_healthz(responder respond) const;

  api_deps deps_;
  std::unique_ptr<admin_router> admin_;
};

/// The token of a request: `Authorization: Bearer T`, else the `solod_session` cookie.
std::string request_token(const http_request& req);

} // namespace solod
