#pragma once
/// @brief Test fixture: the WebSocket side of solod (connection actors, presence, the
/// authenticator) on top of a session_world, with recording sinks in place of Beast streams.

#include "actors/actor_slot.hpp"
#include "actors/connection_actor.hpp"
#include "actors/presence_actor.hpp"
#include "auth/authenticator.hpp"
#include "auth/jwt.hpp"
#include "support/recording_sink.hpp"
#include "support/session_world.hpp"
#include "util/random.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace test_support {

/// One WebSocket as a test drives it: the actor the session would feed, and the sink it answers on.
struct ws_client {
  caf::actor actor;
  std::shared_ptr<recording_sink> sink;
  solod::connection_info info;

  /// Hands the actor one text frame, as the WebSocket session does.
  void frame(const std::string& text) const {
    caf::anon_send(actor, solod::frame_atom::value, text);
  }

  void send(const nlohmann::json& msg) const { frame(msg.dump()); }

  /// Tells the actor the stream is gone, as the WebSocket session does.
  void disconnect() const { caf::anon_send(actor, solod::closed_atom::value); }
};

/// A session_world plus everything connection actors need, wired like server.cpp.
/// Set `cfg` (and `actor_clock`) before start(); `cctx` may be changed between
/// start() and the connect() it should apply to (e.g. auth_timeout, clk).
struct connection_world : session_world {
  static inline const std::string secret = "connection-world-test-secret-0123456789abcdef";

  solod::token_codec tokens{secret};
  std::unique_ptr<solod::authenticator> auth;
  /// The current presence actor (a fresh one after a failure).
  solod::actor_slot presence;
  solod::connection_context cctx;
  /// Every connection actor spawned, to end them before the actor system.
  std::vector<caf::actor> spawned;

  ~connection_world() { stop(); }

  void start() {
    session_world::start();
    solod::supervise_presence(*sys, &stats, presence, test_hooks);
    auth = std::make_unique<solod::authenticator>(tokens, registry, *ctx.clk);
    cctx.clk = ctx.clk;
    cctx.auth = auth.get();
    cctx.directory = directory;
    cctx.presence = &presence;
    cctx.test_hooks = test_hooks;
    cctx.audit = audit;
    cctx.stats = &stats;
  }

  /// Ends the connections and presence, then the session actors (see session_world::stop).
  void stop() {
    if (!sys) {
      return;
    }
    for (auto& a : spawned) {
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
    spawned.clear();
    caf::anon_send_exit(presence.get(), caf::exit_reason::user_shutdown);
    // The slot stays in cctx (a connection actor may still be finishing and
    // read it); it hands out no actor from here on.
    presence.set(nullptr);
    cctx.directory = nullptr;
    cctx.audit = nullptr;
    session_world::stop();
  }

  // -- tokens -------------------------------------------------------------------

  /// Claims for session `s`, valid for an hour by the actors' clock.
  solod::token_claims claims_for(const solod::session_record& s) const {
    solod::token_claims c;
    c.sub = std::to_string(s.user_id);
    c.name = s.username;
    c.sid = s.id;
    c.jti = solod::random_hex(16);
    c.iat = solod::to_unix_seconds(ctx.clk->now());
    c.exp = c.iat + 3600;
    return c;
  }

  /// A token for session `s`, signed like POST /api/login signs it.
  std::string token_for(const solod::session_record& s) const { return tokens.sign(claims_for(s)); }

  // -- connections ------------------------------------------------------------

  /// Spawns a connection actor over a new recording sink; `token` as from the cookie (may be empty).
  ws_client connect(std::string token, const std::string& ip = "198.51.100.20",
                    const std::string& user_agent = "ws-test-agent") {
    ws_client c;
    c.sink = std::make_shared<recording_sink>();
    c.info = solod::connection_info{solod::random_hex(16), ip, user_agent, cctx.clk->now()};
    c.actor = solod::spawn_connection_actor(*sys, &cctx, c.info, c.sink, std::move(token));
    spawned.push_back(c.actor);
    return c;
  }

  /// Connects with a token of the login's session and waits for the welcome.
  ws_client connect_live(const solod::login_outcome& out, const std::string& ip = "198.51.100.20",
                         const std::string& user_agent = "ws-test-agent") {
    REQUIRE(out.result == solod::login_outcome::status::ok);
    auto c = connect(token_for(out.session), ip, user_agent);
    REQUIRE(c.sink->wait_for_type("welcome"));
    return c;
  }

  /// A ping with a fresh id, and its pong: once it is back, the connection has
  /// handled every frame sent to it before. False if no pong came (closed, or hung).
  bool round_trip(const ws_client& c) {
    const auto id = "sync-" + std::to_string(next_ping_++);
    c.send({{"type", "ping"}, {"id", id}});
    return c.sink->wait_for_field("pong", "id", id);
  }

  /// Waits until the actor of `c` has ended (a kick, a refusal or a disconnect ends
  /// it); whatever it sent before, e.g. its leave to presence, is then queued.
  void await_gone(const ws_client& c) {
    bool down = false;
    caf::scoped_actor self{*sys};
    self->monitor(c.actor);
    self->receive([&](const caf::down_msg&) { down = true; },
                  caf::after(std::chrono::seconds{10}) >> [] {});
    REQUIRE(down);
  }

  /// One request through presence's mailbox: everything sent to it before is handled.
  void presence_round_trip() {
    bool answered = false;
    caf::scoped_actor self{*sys};
    self->request(presence.get(), std::chrono::seconds{10}, solod::online_atom::value)
      .receive([&](const std::vector<std::string>&) { answered = true; }, [&](caf::error&) {});
    REQUIRE(answered);
  }

  /// Two round trips: presence flushes changes from a message it queues to itself,
  /// which the first trip may overtake but the second cannot.
  void settle_presence() {
    presence_round_trip();
    presence_round_trip();
  }

  /// Audit rows of `event` from `ip` (with `error_message` when given).
  long long audit_rows_from(const std::string& event, const std::string& ip,
                            const std::optional<std::string>& error_message = std::nullopt) {
    if (error_message) {
      return count_of(*db.sql,
                      "SELECT COUNT(*) FROM login_logs WHERE event_type = :e AND ip_address = :ip "
                      "AND error_message = :m",
                      {event, ip, *error_message});
    }
    return count_of(*db.sql,
                    "SELECT COUNT(*) FROM login_logs WHERE event_type = :e AND ip_address = :ip",
                    {event, ip});
  }

private:
  int next_ping_ = 0;
};

} // namespace test_support
