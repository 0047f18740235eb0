#include "actors/connection_actor.hpp"

#include "actors/broadcast_budget.hpp"
#include "actors/actor_failure.hpp"
#include "actors/actor_slot.hpp"
#include "actors/messages.hpp"
#include "auth/authenticator.hpp"
#include "auth/jwt.hpp"
#include "actors/ping_reply.hpp"
#include "protocol/socketio_packet.hpp"
#include "util/metrics.hpp"
#include "util/time_format.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <variant>

namespace solod {

namespace {

/// What resolving a token found, back on this actor (see authenticator::resolve).
struct token_resolution {
  authenticator::outcome outcome;
  bool from_auth_message = false; ///< false: the cookie or bearer header at connect
};

} // namespace
} // namespace solod

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::token_resolution)

namespace solod {

namespace {

using json = nlohmann::json;

struct connection_state {
  static inline const char* name = "connection";

  enum class phase { awaiting_auth, attaching, live, gone };

  const connection_context* ctx = nullptr;
  connection_info info;
  std::shared_ptr<ws_sink> sink;
  phase at = phase::awaiting_auth;
  std::optional<principal> who;
  caf::actor user; ///< the user actor this connection is attached to, watched

  // -- Socket.IO only ----------------------------------------------------------
  /// How a Socket.IO connection is authenticating.
  enum class sio_via { none, connect_auth, connect_header, register_user };
  bool sio = false;        ///< speaks Socket.IO (info.protocol)
  bool sio_joined = false; ///< the default namespace is joined (CONNECT answered)
  sio_via via = sio_via::none;
  std::string header_token; ///< the cookie or bearer token, kept until CONNECT
  std::string sio_token;    ///< the token being resolved (to say why it was refused)
  std::string claimed_username; ///< register_user's optional username
  std::optional<std::uint64_t> pending_ack; ///< register_user's ack, answered once resolved

  caf::actor presence() const { return ctx->presence->get(); }
};

using connection_self = caf::stateful_actor<connection_state>;

/// `text` as an outbound message, counted in the metrics.
ws_text outbound(connection_self* self, std::string text) {
  if (auto* stats = self->state.ctx->stats) {
    (self->state.sio ? stats->socketio_messages_out : stats->ws_messages_out)++;
  }
  return make_ws_text(std::move(text));
}

/// `msg` serialized as an outbound message, counted in the metrics.
ws_text outbound(connection_self* self, const json& msg) {
  return outbound(self, msg.dump(-1, ' ', false, json::error_handler_t::replace));
}

void send_json(connection_self* self, const json& msg) {
  self->state.sink->send(outbound(self, msg));
}

/// Sends `last`, then closes with `code`, as one step on the stream.
void close_with(connection_self* self, const json& last, std::uint16_t code, std::string reason) {
  self->state.sink->close(outbound(self, last), code, std::move(reason));
}

void send_error(connection_self* self, const std::string& code, const std::string& message) {
  send_json(self, json{{"type", "error"}, {"code", code}, {"message", message}});
}

/// Leaves presence (if joined) and ends the actor; the stream is closed by the caller's sink call.
void finish(connection_self* self) {
  auto& st = self->state;
  if (st.at == connection_state::phase::live) {
    self->send(st.presence(), leave_atom::value, st.who->session.user_id, st.info.id);
  }
  if (st.user) {
    // Else the watch would stay with the user actor for as long as it lives.
    self->demonitor(st.user);
  }
  st.at = connection_state::phase::gone;
  self->quit();
}

// -- Socket.IO answers ----------------------------------------------------------

/// Several Socket.IO packets as one outbound text (one hand-off, in order).
std::string sio_join(std::initializer_list<std::string> packets) {
  std::string out;
  for (const auto& p : packets) {
    if (!out.empty()) {
      out += sio_joiner;
    }
    out += p;
  }
  return out;
}

/// The event `name` with `payload`, and the ack `ack` with the same payload
/// when the client asked for one (SPEC §8: the ack receives the payload of
/// the answering event).
std::string sio_answer_text(const std::string& name, const json& payload,
                            std::optional<std::uint64_t> ack) {
  if (ack) {
    return sio_join({encode_sio_event(name, payload), encode_sio_ack(*ack, payload)});
  }
  return encode_sio_event(name, payload);
}

void sio_answer(connection_self* self, const std::string& name, const json& payload,
                std::optional<std::uint64_t> ack) {
  self->state.sink->send(outbound(self, sio_answer_text(name, payload, ack)));
}

void sio_error(connection_self* self, const std::string& code, const std::string& message,
               std::optional<std::uint64_t> ack = std::nullopt) {
  sio_answer(self, "error", json{{"code", code}, {"message", message}}, ack);
}

/// What a kick looks like to a Socket.IO client: `kicked` and DISCONNECT once
/// the namespace is joined (the client sees "io server disconnect"), else a
/// CONNECT_ERROR naming the reason.
std::string sio_kick_text(connection_self* self, kick_reason reason, const json& kicked) {
  if (self->state.sio_joined) {
    json payload = kicked;
    payload.erase("type");
    return sio_join({encode_sio_event("kicked", payload), encode_sio_disconnect()});
  }
  std::string message = reason == kick_reason::too_many_connections
                          ? "too many connections for this session"
                          : reason == kick_reason::unauthorized ? "Invalid token!"
                                                                : to_string(reason);
  return encode_sio_connect_error("/", message, json{{"reason", to_string(reason)}});
}

/// Why a Socket.IO token was refused, in Flask-SocketIO's words (SPEC §8).
std::string sio_refusal(connection_self* self) {
  auto& st = self->state;
  if (!st.ctx->tokens || st.sio_token.empty()) {
    return "Invalid token!";
  }
  auto v = st.ctx->tokens->verify(st.sio_token, st.ctx->clk->now());
  if (auto* err = std::get_if<token_error>(&v)) {
    return *err == token_error::expired ? "Token has expired!" : "Invalid token!";
  }
  // Well signed and unexpired, yet not the user's live session: it ended.
  return "Token has been revoked!";
}

/// Sends `kicked` with `reason`, closes with its code, and ends.
void kick(connection_self* self, kick_reason reason, const std::string& by_json) {
  auto& st = self->state;
  if (st.at == connection_state::phase::gone) {
    return;
  }
  // Counted before the client can see it: whoever reads /metrics after the
  // close frame must find this kick there.
  if (st.ctx->stats) {
    st.ctx->stats->kicks[static_cast<std::size_t>(reason)]++;
  }
  json msg{{"type", "kicked"}, {"reason", to_string(reason)}};
  if (!by_json.empty()) {
    msg["by"] = json::parse(by_json, nullptr, false);
  }
  if (st.sio) {
    st.sink->close(outbound(self, sio_kick_text(self, reason, msg)), close_code_of(reason),
                   to_string(reason));
    finish(self);
    return;
  }
  // The kick and the close in one hand-off: a presence delivery racing with
  // the kick can come before it, never between it and the close.
  close_with(self, msg, close_code_of(reason), to_string(reason));
  finish(self);
}

void sio_refuse(connection_self* self);

void refuse_auth(connection_self* self, const std::string& why) {
  auto& st = self->state;
  if (st.ctx->stats) {
    st.ctx->stats->ws_auth_failures++;
  }
  self->send(st.ctx->audit, audit_atom::value,
             audit_event{.timestamp = st.ctx->clk->now(),
                         .event_type = "ws_auth_failure",
                         .user_id = st.who ? std::optional<std::int64_t>(st.who->session.user_id)
                                           : std::nullopt,
                         .username = st.who ? st.who->session.username : "",
                         .ip_address = st.info.ip,
                         .user_agent = st.info.user_agent,
                         .status = "failure",
                         .error_message = why});
  if (st.ctx->stats) {
    st.ctx->stats->kicks[static_cast<std::size_t>(kick_reason::unauthorized)]++;
  }
  if (st.sio) {
    sio_refuse(self);
    return;
  }
  close_with(self,
             json{{"type", "error"},
                  {"code", "invalid_token"},
                  {"message", "the token is invalid, expired or its session has ended"}},
             close_code_of(kick_reason::unauthorized), "unauthorized");
  finish(self);
}

/// A refused Socket.IO token. A CONNECT's gets CONNECT_ERROR and the
/// connection stays (the client gives up the socket; the auth timeout ends
/// it otherwise); `register_user`'s gets `response` and a disconnect.
void sio_refuse(connection_self* self) {
  auto& st = self->state;
  auto message = sio_refusal(self);
  st.sio_token.clear();
  if (st.via == connection_state::sio_via::register_user) {
    auto text = sio_join({sio_answer_text("response", json{{"message", message}}, st.pending_ack),
                          encode_sio_disconnect()});
    st.sink->close(outbound(self, std::move(text)), close_code_of(kick_reason::unauthorized),
                   "unauthorized");
    finish(self);
    return;
  }
  st.at = connection_state::phase::awaiting_auth;
  st.via = connection_state::sio_via::none;
  st.who.reset();
  st.sink->send(outbound(self, encode_sio_connect_error("/", message)));
}

/// The first answer of an attached Socket.IO connection: the namespace's sid
/// for a CONNECT, `response registered` for a `register_user`.
std::string sio_live_text(connection_self* self) {
  auto& st = self->state;
  const auto& s = st.who->session;
  if (st.via == connection_state::sio_via::register_user) {
    auto ack = st.pending_ack;
    st.pending_ack.reset();
    return sio_answer_text("response",
                           json{{"message", "registered"},
                                {"user", {{"id", s.user_id}, {"username", s.username}}},
                                {"session_id", s.id}},
                           ack);
  }
  st.sio_joined = true;
  return encode_sio_connect(st.info.id);
}

void on_attached(connection_self* self, attach_status status, caf::actor user) {
  auto& st = self->state;
  if (st.at != connection_state::phase::attaching) {
    return; // closed meanwhile
  }
  if (status == attach_status::not_live) {
    refuse_auth(self, "session_not_live");
    return;
  }
  if (status == attach_status::too_many) {
    kick(self, kick_reason::too_many_connections, "");
    return;
  }
  st.at = connection_state::phase::live;
  // Should the user actor fail, this connection must not outlive its session.
  st.user = std::move(user);
  self->monitor(st.user);
  const auto& s = st.who->session;
  cluster_connection row;
  row.connection_id = st.info.id;
  row.user_id = s.user_id;
  row.username = s.username;
  row.session_id = s.id;
  row.ip_address = st.info.ip;
  row.user_agent = st.info.user_agent;
  row.connected_at = st.info.connected_at;
  if (st.sio) {
    st.sio_token.clear();
    // Joined before the client hears it is connected, so that whatever it
    // asks next finds it online; a message racing ahead of the answer is
    // held by socket.io-client until the socket is connected.
    self->send(st.presence(), join_atom::value, std::move(row), st.sink);
    st.sink->go_live(outbound(self, sio_live_text(self)));
    // Every authenticated socket hears user_status and user_count (SPEC §8),
    // from after its answer on.
    self->send(st.presence(), subscribe_atom::value, st.info.id, st.sink);
    return;
  }
  self->send(st.presence(), join_atom::value, std::move(row), st.sink);
  // One hand-off: the welcome, and from then on the session answers pings itself.
  st.sink->go_live(outbound(self, json{{"type", "welcome"},
                                       {"user", {{"id", s.user_id}, {"username", s.username}}},
                                       {"session_id", s.id},
                                       {"connection_id", st.info.id},
                                       {"server_time", format_iso8601(st.ctx->clk->now())}}));
}

/// Asks the user actor to take this connection into the session of `who`.
void attach(connection_self* self, principal who) {
  auto& st = self->state;
  st.who = std::move(who);
  st.at = connection_state::phase::attaching;
  attach_request req{st.who->session.user_id, st.who->session.id, st.info.id,
                     caf::actor_cast<caf::actor>(self)};
  self->request(st.ctx->directory, caf::infinite, attach_atom::value, std::move(req))
    .then([=](attach_status status, caf::actor& user) { on_attached(self, status, user); },
          [=](caf::error&) { on_attached(self, attach_status::not_live, nullptr); });
}

/// This node has lost the cluster's news: the token may be live, so no 4401;
/// 1013 (try again later) sends the client to retry, here or on another node.
void close_unavailable(connection_self* self) {
  auto& st = self->state;
  if (st.sio) {
    const std::string message = "sessions cannot be checked right now; try again";
    auto text = st.via == connection_state::sio_via::register_user
                  ? sio_join({sio_answer_text("response", json{{"message", message}}, st.pending_ack),
                              encode_sio_disconnect()})
                  : encode_sio_connect_error("/", message);
    st.sink->close(outbound(self, std::move(text)), 1013, "try again later");
    finish(self);
    return;
  }
  close_with(self,
             json{{"type", "error"},
                  {"code", "unavailable"},
                  {"message", "sessions cannot be checked right now; try again"}},
             1013, "try again later");
}

/// Resolves `token`; a session memory does not know yet is looked up in the
/// database, and the answer comes back as `(auth_atom, token_resolution)`.
void resolve_token(connection_self* self, const std::string& token, bool from_auth_message) {
  auto& ctx = *self->state.ctx;
  if (!ctx.db) {
    auto who = ctx.auth->authenticate(token);
    bool unavailable = !who && !ctx.auth->available();
    caf::anon_send(self, auth_atom::value,
                   token_resolution{{std::move(who), unavailable}, from_auth_message});
    return;
  }
  auto me = caf::actor_cast<caf::actor>(self);
  ctx.auth->resolve(token, *ctx.db, [me, from_auth_message](authenticator::outcome o) {
    caf::anon_send(me, auth_atom::value, token_resolution{std::move(o), from_auth_message});
  });
}

bool same_username(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

void on_resolved(connection_self* self, token_resolution& r) {
  auto& st = self->state;
  bool waiting = r.from_auth_message ? st.at == connection_state::phase::attaching
                                     : st.at == connection_state::phase::awaiting_auth;
  if (!waiting) {
    return; // closed meanwhile, or authenticated by an auth message first
  }
  if (r.outcome.who && st.sio && !st.claimed_username.empty() &&
      !same_username(st.claimed_username, r.outcome.who->session.username)) {
    // register_user named another user than its token: refused like a bad token.
    st.sio_token.clear(); // (so the answer is "Invalid token!", not "revoked")
    refuse_auth(self, "username_mismatch");
  } else if (r.outcome.who) {
    attach(self, std::move(*r.outcome.who));
  } else if (st.sio && st.via == connection_state::sio_via::connect_header && !r.outcome.unavailable) {
    // An invalid cookie or header is ignored, as if absent: register_user may follow.
    st.at = connection_state::phase::awaiting_auth;
    st.via = connection_state::sio_via::none;
    st.sio_token.clear();
    st.sio_joined = true;
    st.sink->send(outbound(self, encode_sio_connect(st.info.id)));
  } else if (r.outcome.unavailable) {
    close_unavailable(self);
  } else if (r.from_auth_message) {
    refuse_auth(self, "invalid_token");
  }
  // An invalid cookie or header is ignored, as if absent: an auth message may follow.
}

void authenticate(connection_self* self, const std::string& token) {
  self->state.at = connection_state::phase::attaching;
  resolve_token(self, token, true);
}

void on_live_message(connection_self* self, const std::string& type, const json& msg) {
  auto& st = self->state;
  const auto& s = st.who->session;
  if (type == "ping") {
    // Only the pings that reached us before the session took them over.
    st.sink->send(outbound(self, pong_text(msg.contains("id") ? msg["id"] : json(), st.ctx->clk->now())));
  } else if (type == "online") {
    self->request(st.presence(), caf::infinite, online_atom::value)
      .then(
        [=](const std::vector<std::string>& users) {
          send_json(self, json{{"type", "online"}, {"users", users}, {"count", users.size()}});
        },
        [=](caf::error&) { send_error(self, "unavailable", "presence is restarting, try again"); });
  } else if (type == "subscribe") {
    auto topic = msg.find("topic");
    if (topic == msg.end() || !topic->is_string() || *topic != "presence") {
      send_error(self, "bad_request", "subscribe needs topic \"presence\"");
      return;
    }
    // The presence actor confirms with "subscribed" when the subscription is
    // in force, so no change after the confirmation can be missed.
    self->send(st.presence(), subscribe_atom::value, st.info.id, st.sink);
  } else if (type == "message") {
    auto text = msg.find("text");
    auto to = msg.find("to");
    if (text == msg.end() || !text->is_string() ||
        (to != msg.end() && !to->is_string() && !to->is_null())) {
      send_error(self, "bad_request", "message needs a string text and an optional string to");
      return;
    }
    std::string target = (to != msg.end() && to->is_string()) ? to->get<std::string>() : "";
    if (to != msg.end() && to->is_string() && target.empty()) {
      // Only an absent "to" broadcasts; an empty one is a mistake.
      send_error(self, "bad_request", "to must name a user (leave it out to send to everyone)");
      return;
    }
    auto out = make_ws_text(json{{"type", "message"},
                                 {"from", s.username},
                                 {"text", *text},
                                 {"at", format_iso8601(st.ctx->clk->now())}}
                              .dump(-1, ' ', false, json::error_handler_t::replace));
    if (target.empty() && st.ctx->broadcasts &&
        !st.ctx->broadcasts->try_spend(s.user_id, out->size())) {
      // Every online client gets a broadcast: one sender must not fill their queues.
      st.ctx->stats->broadcasts_rate_limited++;
      send_error(self, "rate_limited", "too many broadcast bytes per second; wait a moment");
      return;
    }
    self->request(st.presence(), caf::infinite, deliver_atom::value, target, out)
      .then(
        [=](bool delivered) {
          if (!delivered) {
            send_error(self, "not_online", "user '" + target + "' is not online");
          }
        },
        [=](caf::error&) { send_error(self, "unavailable", "presence is restarting, try again"); });
  } else if (type == "whoami") {
    send_json(self, json{{"type", "whoami"},
                         {"user", {{"id", s.user_id}, {"username", s.username}}},
                         {"session_id", s.id},
                         {"connection_id", st.info.id},
                         {"ip", st.info.ip},
                         {"user_agent", st.info.user_agent},
                         {"connected_at", format_iso8601(st.info.connected_at)}});
  } else if (type == "logout") {
    // The user actor ends the session and kicks every connection, this one included.
    end_request req{s.user_id, s.id, end_reason::logout, st.info.ip, st.info.user_agent};
    self->send(st.ctx->directory, end_atom::value, std::move(req), end_reply{});
  } else if (type == "auth") {
    send_error(self, "bad_request", "already authenticated");
  } else {
    send_error(self, "bad_request", "unknown type '" + type + "'");
  }
}

// -- Socket.IO events -----------------------------------------------------------

/// `message` / `authenticated_message {text, to?}`: delivered as `/ws`'s
/// `message`, which presence serializes once for both kinds of client.
void sio_message(connection_self* self, const json& arg, std::optional<std::uint64_t> ack) {
  auto& st = self->state;
  const auto& s = st.who->session;
  const json* text = arg.is_object() && arg.contains("text") ? &arg["text"] : nullptr;
  const json* to = arg.is_object() && arg.contains("to") ? &arg["to"] : nullptr;
  if (!text || !text->is_string() || (to && !to->is_string() && !to->is_null())) {
    sio_error(self, "bad_request", "message needs {text: string, to?: string}", ack);
    return;
  }
  std::string target = to && to->is_string() ? to->get<std::string>() : "";
  if (to && to->is_string() && target.empty()) {
    sio_error(self, "bad_request", "to must name a user (leave it out to send to everyone)", ack);
    return;
  }
  auto out = make_ws_text(json{{"type", "message"},
                               {"from", s.username},
                               {"text", *text},
                               {"at", format_iso8601(st.ctx->clk->now())}}
                            .dump(-1, ' ', false, json::error_handler_t::replace));
  if (target.empty() && st.ctx->broadcasts &&
      !st.ctx->broadcasts->try_spend(s.user_id, out->size())) {
    st.ctx->stats->broadcasts_rate_limited++;
    sio_error(self, "rate_limited", "too many broadcast bytes per second; wait a moment", ack);
    return;
  }
  self->request(st.presence(), caf::infinite, deliver_atom::value, target, out)
    .then(
      [=](bool delivered) {
        if (!delivered) {
          sio_error(self, "not_online", "user '" + target + "' is not online", ack);
        } else if (ack) {
          self->state.sink->send(outbound(
            self, encode_sio_ack(*ack, json{{"delivered", true},
                                            {"to", target.empty() ? json() : json(target)}})));
        }
      },
      [=](caf::error&) { sio_error(self, "unavailable", "presence is restarting, try again", ack); });
}

/// One event of an authenticated Socket.IO connection (SPEC §8's table).
void on_sio_event(connection_self* self, const std::string& name, const json& arg,
                  std::optional<std::uint64_t> ack) {
  auto& st = self->state;
  const auto& s = st.who->session;
  const json user{{"id", s.user_id}, {"username", s.username}};
  if (name == "register_user") {
    // Already authenticated (by CONNECT): the answer a fresh registration gets.
    sio_answer(self, "response",
               json{{"message", "registered"}, {"user", user}, {"session_id", s.id}}, ack);
  } else if (name == "get_online_users") {
    self->request(st.presence(), caf::infinite, online_atom::value)
      .then(
        [=](const std::vector<std::string>& users) {
          sio_answer(self, "online_users", json{{"users", users}, {"count", users.size()}}, ack);
        },
        [=](caf::error&) { sio_error(self, "unavailable", "presence is restarting, try again", ack); });
  } else if (name == "ping_manual") {
    sio_answer(self, "pong_manual", json{{"server_time", format_iso8601(st.ctx->clk->now())}}, ack);
  } else if (name == "message" || name == "authenticated_message") {
    sio_message(self, arg, ack);
  } else if (name == "debug_connection") {
    sio_answer(self, "debug_info",
               json{{"sid", st.info.id},
                    {"user", user},
                    {"session_id", s.id},
                    {"ip", st.info.ip},
                    {"user_agent", st.info.user_agent},
                    {"connected_at", format_iso8601(st.info.connected_at)},
                    {"transport", st.info.transport}},
               ack);
  } else if (name == "check_connections") {
    sio_answer(self, "connection_slots",
               json{{"used", s.connections ? s.connections->load() : 0},
                    {"max", st.ctx->max_connections_per_session}},
               ack);
  } else if (name == "logout") {
    if (ack) {
      st.sink->send(outbound(self, encode_sio_ack(*ack, json{{"message", "logged out"}})));
    }
    end_request req{s.user_id, s.id, end_reason::logout, st.info.ip, st.info.user_agent};
    self->send(st.ctx->directory, end_atom::value, std::move(req), end_reply{});
  } else {
    sio_error(self, "bad_request", "unknown event '" + name + "'", ack);
  }
}

/// `register_user {token, username?}` on a joined, unauthenticated socket.
void sio_register(connection_self* self, const json& arg, std::optional<std::uint64_t> ack) {
  auto& st = self->state;
  const json* token = arg.is_object() && arg.contains("token") ? &arg["token"] : nullptr;
  const json* username = arg.is_object() && arg.contains("username") ? &arg["username"] : nullptr;
  st.via = connection_state::sio_via::register_user;
  st.pending_ack = ack;
  st.claimed_username = username && username->is_string() ? username->get<std::string>() : "";
  st.sio_token = token && token->is_string() ? token->get<std::string>() : "";
  st.at = connection_state::phase::attaching;
  if (st.sio_token.empty()) {
    refuse_auth(self, "invalid_token");
    return;
  }
  resolve_token(self, st.sio_token, true);
}

/// CONNECT to the default namespace: with `auth {token}`, else with the
/// cookie or bearer token, else joined unauthenticated (register_user follows).
void sio_connect(connection_self* self, const sio_packet& p) {
  auto& st = self->state;
  if (p.nsp != "/") {
    st.sink->send(outbound(self, encode_sio_connect_error(p.nsp, "Invalid namespace")));
    return;
  }
  if (st.sio_joined || st.at != connection_state::phase::awaiting_auth) {
    sio_error(self, "bad_request", "already connected to the namespace");
    return;
  }
  const json* token = p.data.is_object() && p.data.contains("token") ? &p.data["token"] : nullptr;
  if (token) {
    st.via = connection_state::sio_via::connect_auth;
    st.sio_token = token->is_string() ? token->get<std::string>() : "";
    st.at = connection_state::phase::attaching;
    if (st.sio_token.empty()) {
      refuse_auth(self, "invalid_token");
      return;
    }
    resolve_token(self, st.sio_token, true);
  } else if (!st.header_token.empty()) {
    st.via = connection_state::sio_via::connect_header;
    st.sio_token = std::move(st.header_token);
    st.header_token.clear();
    st.at = connection_state::phase::attaching;
    resolve_token(self, st.sio_token, true);
  } else {
    st.sio_joined = true;
    st.sink->send(outbound(self, encode_sio_connect(st.info.id)));
  }
}

void on_sio_frame(connection_self* self, const std::string& text) {
  auto& st = self->state;
  auto r = parse_sio_packet(text);
  if (!r.packet) {
    sio_error(self, "bad_request", r.error);
    return;
  }
  auto& p = *r.packet;
  switch (p.type) {
    case sio_type::connect:
      sio_connect(self, p);
      return;
    case sio_type::disconnect:
      // The client left the namespace, the only one: the connection ends.
      st.sink->close(nullptr, 1000, "client disconnect");
      finish(self);
      return;
    case sio_type::ack:
      return; // solod asks clients for no acks
    case sio_type::binary_event:
    case sio_type::binary_ack:
      sio_error(self, "binary_unsupported",
                "binary events and acks are not supported: send JSON (text) data", p.ack_id);
      return;
    case sio_type::connect_error:
      sio_error(self, "bad_request", "CONNECT_ERROR is the server's packet");
      return;
    case sio_type::event:
      break;
  }
  if (p.nsp != "/" || !st.sio_joined) {
    sio_error(self, "bad_request", "CONNECT to the namespace first", p.ack_id);
    return;
  }
  const auto name = p.data[0].get<std::string>();
  const json arg = p.data.size() > 1 ? p.data[1] : json();
  switch (st.at) {
    case connection_state::phase::awaiting_auth:
      if (name == "register_user") {
        sio_register(self, arg, p.ack_id);
      } else {
        sio_error(self, "unauthorized", "authenticate first: register_user {token}", p.ack_id);
      }
      return;
    case connection_state::phase::attaching:
      sio_error(self, "bad_request", "authentication in progress", p.ack_id);
      return;
    case connection_state::phase::live:
      on_sio_event(self, name, arg, p.ack_id);
      return;
    case connection_state::phase::gone:
      return;
  }
}

/// One text frame from the client. The session has counted it and applied
/// the flood limit (net/message_rate_limiter) before it got here.
void on_frame(connection_self* self, const std::string& text) {
  auto& st = self->state;
  if (st.at == connection_state::phase::gone) {
    return;
  }
  if (st.sio) {
    on_sio_frame(self, text);
    return;
  }
  auto msg = json::parse(text, nullptr, false);
  if (msg.is_discarded() || !msg.is_object()) {
    send_error(self, "bad_request", "messages are JSON objects");
    return;
  }
  auto type_it = msg.find("type");
  if (type_it == msg.end() || !type_it->is_string()) {
    send_error(self, "bad_request", "missing string field \"type\"");
    return;
  }
  auto type = type_it->get<std::string>();
  switch (st.at) {
    case connection_state::phase::awaiting_auth: {
      auto token = msg.find("token");
      if (type != "auth") {
        refuse_auth(self, "no_auth_message");
      } else if (token == msg.end() || !token->is_string()) {
        send_error(self, "bad_request", "auth needs a string token");
      } else {
        authenticate(self, token->get<std::string>());
      }
      return;
    }
    case connection_state::phase::attaching:
      send_error(self, "bad_request", "authentication in progress");
      return;
    case connection_state::phase::live:
      on_live_message(self, type, msg);
      return;
    case connection_state::phase::gone:
      return;
  }
}

caf::behavior connection_actor(connection_self* self, const connection_context* ctx,
                               connection_info info, std::shared_ptr<ws_sink> sink,
                               std::string token) {
  auto& st = self->state;
  st.ctx = ctx;
  st.info = std::move(info);
  st.sink = std::move(sink);
  st.sio = st.info.protocol == wire_protocol::socketio;
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.at == connection_state::phase::live && msg.source == st.user.address()) {
      // The user actor is gone while the session was live here: it failed
      // (a live session never lets its actor retire). Fail closed.
      kick(self, kick_reason::server_error, "");
    }
  });
  self->set_exception_handler([self](std::exception_ptr& x) -> caf::error {
    auto& st = self->state;
    auto why = describe(x);
    spdlog::error("connection {}: actor failed ({}); closing with 1011", st.info.id.substr(0, 8), why);
    if (st.ctx->stats) {
      st.ctx->stats->count_failure(metrics::actor_kind::connection);
    }
    if (st.at != connection_state::phase::gone) {
      kick(self, kick_reason::server_error, "");
    }
    return caf::make_error(caf::sec::runtime_error, std::move(why));
  });
  // A valid cookie or bearer token authenticates at once; an invalid one is
  // ignored, as if absent: the client may still send an auth message.
  // Socket.IO keeps it for the CONNECT packet, which may bring its own.
  if (st.sio) {
    st.header_token = std::move(token);
    self->delayed_send(self, ctx->auth_timeout, auth_atom::value);
  } else if (auto who = token.empty() ? std::nullopt : ctx->auth->authenticate(token)) {
    attach(self, std::move(*who));
  } else {
    if (!token.empty()) {
      resolve_token(self, token, false);
    }
    self->delayed_send(self, ctx->auth_timeout, auth_atom::value);
  }
  return {
    [=](frame_atom, const std::string& text) { on_frame(self, text); },
    [=](auth_atom, token_resolution& r) { on_resolved(self, r); },
    [=](closed_atom) {
      if (self->state.at != connection_state::phase::gone) {
        finish(self);
      }
    },
    [=](kick_atom, kick_reason reason, const std::string& by) { kick(self, reason, by); },
    [=](transport_atom, std::string& transport) { self->state.info.transport = std::move(transport); },
    [=](fail_atom) {
      if (self->state.ctx->test_hooks) {
        throw std::runtime_error("injected failure (test hook)");
      }
    },
    [=](auth_atom) {
      if (self->state.at == connection_state::phase::awaiting_auth) {
        self->send(self->state.ctx->audit, audit_atom::value,
                   audit_event{.timestamp = self->state.ctx->clk->now(),
                               .event_type = "ws_auth_failure",
                               .ip_address = self->state.info.ip,
                               .user_agent = self->state.info.user_agent,
                               .status = "failure",
                               .error_message = "auth_timeout"});
        if (self->state.ctx->stats) {
          self->state.ctx->stats->ws_auth_failures++;
        }
        kick(self, kick_reason::unauthorized, "");
      }
    },
  };
}

} // namespace

caf::actor spawn_connection_actor(caf::actor_system& sys, const connection_context* ctx,
                                  connection_info info, std::shared_ptr<ws_sink> sink,
                                  std::string token) {
  return sys.spawn(connection_actor, ctx, std::move(info), std::move(sink), std::move(token));
}

} // namespace solod
