#pragma once
/// @brief Fuzz fixture: the server's real dependencies (actors, pools, login
/// service, authenticator, routers) over a temporary SQLite database, wired like
/// src/app/server.cpp but without sockets, built once per fuzzing process.

#include "actors/actor_slot.hpp"
#include "actors/online_board.hpp"
#include "actors/connection_actor.hpp"
#include "storage/session_registry.hpp"
#include "actors/user_context.hpp"
#include "auth/authenticator.hpp"
#include "auth/hashing_pool.hpp"
#include "auth/jwt.hpp"
#include "auth/account_lockout.hpp"
#include "auth/ip_rate_limiter.hpp"
#include "auth/login_service.hpp"
#include "auth/password_hasher.hpp"
#include "config/config.hpp"
#include "net/api_router.hpp"
#include "net/http_message.hpp"
#include "net/static_files.hpp"
#include "storage/db_pool.hpp"
#include "support/test_database.hpp"
#include "util/clock.hpp"
#include "util/metrics.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace fuzz {

/// One account the fuzzer can act as, with a live session and its token.
struct account {
  std::int64_t id = 0;
  std::string name;
  std::string password;
  std::string hash;
  std::string session_id;
  std::string token;
};

/// A response as the fuzzer saw it: the status, headers and the whole body
/// (a streamed body is collected).
struct routed_response {
  solod::http_response head;
  std::string streamed;
  bool stream_finished = false;
};

/// The server without its sockets. Never destroyed: libFuzzer exits from
/// inside the fuzzing loop, and tearing down actors there only adds noise.
class fuzz_world {
public:
  /// The process-wide world, built on first use.
  static fuzz_world& instance();

  /// Logs the two accounts in again if a fuzz input ended their sessions, so
  /// each input starts with valid tokens in `admin` and `user`.
  void refresh_sessions();

  /// Replaces the placeholders `@ADMIN@` and `@USER@` in `text` by the
  /// accounts' tokens, so seeds can reach authenticated routes.
  std::string with_tokens(std::string text) const;

  /// Routes `req` through the api_router (and from it the admin_router);
  /// aborts when the router never answers, answers twice, or a stream never ends.
  routed_response route(solod::http_request req);

  /// Spawns a connection actor over `sink`, as a WebSocket session would.
  caf::actor connect(std::shared_ptr<solod::ws_sink> sink, std::string token);

  /// Waits (bounded) until `a` has terminated; aborts if it does not.
  void await_down(const caf::actor& a, std::chrono::seconds limit);

  solod::config cfg;
  solod::system_clock clk;
  solod::metrics stats;
  solod::session_registry registry;
  account admin;
  account user;
  std::unique_ptr<caf::actor_system> sys;

private:
  fuzz_world();
  account make_account(const std::string& name, const std::string& password, bool is_admin);
  void login(account& a);
  void restore_accounts();

  test_support::test_database db_;
  std::unique_ptr<solod::token_codec> tokens_;
  std::unique_ptr<solod::password_hasher> hasher_;
  std::unique_ptr<solod::hashing_pool> hashing_;
  std::unique_ptr<solod::db_pool> pool_;
  std::unique_ptr<solod::ip_rate_limiter> ip_limiter_;
  std::unique_ptr<solod::account_lockout> lockout_;
  caf::actor_system_config caf_cfg_;
  caf::actor audit_;
  caf::actor directory_;
  solod::online_board online_; // before presence_: the presence actor writes it
  solod::actor_slot presence_;
  std::unique_ptr<solod::ip_rate_limiter> register_limiter_;
  solod::user_context uctx_;
  std::unique_ptr<solod::login_service> logins_;
  std::unique_ptr<solod::authenticator> auth_;
  std::unique_ptr<solod::static_files> files_;
  std::unique_ptr<solod::api_router> router_;
  solod::connection_context cctx_;
};

} // namespace fuzz
