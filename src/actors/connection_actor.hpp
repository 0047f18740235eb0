#pragma once
/// @brief The connection actor: one per WebSocket, between the Beast stream and the session actors.

#include "actors/ws_sink.hpp"
#include "util/clock.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace solod {

class actor_slot;
class authenticator;
class token_codec;
class db_pool;
class broadcast_budget;
struct metrics;

/// What every connection actor shares; owned by the server.
struct connection_context {
  const clock* clk = nullptr;
  const authenticator* auth = nullptr;
  /// Tells an expired token from a revoked one in Socket.IO's `register_user`
  /// answer (SPEC §8); null: every refusal says "Invalid token!".
  const token_codec* tokens = nullptr;
  /// auth.max_connections_per_session, for Socket.IO's `check_connections`.
  int max_connections_per_session = 3;
  /// Where a token newer than memory is checked (see authenticator::resolve);
  /// null: memory only.
  db_pool* db = nullptr;
  caf::actor directory;
  /// The current presence actor (restarted when it fails, see supervise_presence).
  const actor_slot* presence = nullptr;
  caf::actor audit;
  metrics* stats = nullptr;
  /// Per-sender budget for broadcasts; null means none.
  broadcast_budget* broadcasts = nullptr;
  /// How long an unauthenticated connection may wait before its `auth`.
  std::chrono::milliseconds auth_timeout{5000};
  /// Test only: honour `fail_atom` (inject a failure). Never set in production.
  bool test_hooks = false;
};

/// The protocol a connection speaks: `/ws` JSON, or Socket.IO 5 over Engine.IO 4.
enum class wire_protocol { ws, socketio };

/// Who is on the other end.
struct connection_info {
  std::string id; ///< 128-bit random, hex; a Socket.IO client's socket id
  std::string ip;
  std::string user_agent;
  time_point connected_at{};
  wire_protocol protocol = wire_protocol::ws;
  std::string transport = "websocket"; ///< Socket.IO: "polling" until an upgrade
};

/// `(transport_atom, std::string)`: a Socket.IO connection changed transport
/// (polling upgraded to websocket), for `debug_connection`.
using transport_atom = caf::atom_constant<caf::atom("transport")>;

/// Spawns the actor of one WebSocket. The session feeds it `(frame_atom,
/// std::string)` for each text message and `(closed_atom)` when the stream
/// is gone; it answers through `sink`. `token` (from the cookie or bearer
/// header, may be empty) authenticates at once when valid; otherwise the
/// first message must be `auth` within `auth_timeout`, else close 4401.
/// Once authenticated it attaches to the user actor (which may refuse with
/// 4401 or 4429) and joins presence. A `(kick_atom, kick_reason, by_json)`
/// from the user actor sends `kicked`, closes with the reason's code and ends
/// the actor.
///
/// A Socket.IO connection (`info.protocol`) is fed the Socket.IO packets of
/// its Engine.IO messages instead, and answers in Socket.IO packets (several
/// joined by sio_joiner in one text): CONNECT with `auth {token}` (or the
/// cookie or bearer token, kept until then) authenticates and is answered
/// with the namespace's sid, or CONNECT_ERROR `Invalid token!`; a CONNECT
/// without any token joins the namespace, and `register_user {token}` must
/// follow within `auth_timeout`. The events of SPEC §8 are answered with
/// their event and, when the client asked, an ack with the same payload. A
/// kick sends `kicked`, then DISCONNECT, then closes.
///
/// Failing closed: once attached, the actor watches its user actor; if that
/// one fails, the session is gone from memory, so the connection gets
/// `kicked` `server_error` and closes with 1011. If the connection actor
/// itself throws, it does the same for its own stream (and leaves presence),
/// counted as `solod_actor_failures_total{actor="connection"}`. `(fail_atom)`
/// is a test hook, ignored unless `ctx->test_hooks`.
caf::actor spawn_connection_actor(caf::actor_system& sys, const connection_context* ctx,
                                  connection_info info, std::shared_ptr<ws_sink> sink,
                                  std::string token);

} // namespace solod
