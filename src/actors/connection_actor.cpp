#include "actors/connection_actor.hpp"

#include "actors/broadcast_budget.hpp"
#include "actors/actor_failure.hpp"
#include "actors/actor_slot.hpp"
#include "actors/messages.hpp"
#include "auth/authenticator.hpp"
#include "actors/ping_reply.hpp"
#include "util/metrics.hpp"
#include "util/time_format.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <optional>

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

  caf::actor presence() const { return ctx->presence->get(); }
};

using connection_self = caf::stateful_actor<connection_state>;

/// `text` as an outbound message, counted in the metrics.
ws_text outbound(connection_self* self, std::string text) {
  if (self->state.ctx->stats) {
    self->state.ctx->stats->ws_messages_out++;
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
  // The kick and the close in one hand-off: a presence delivery racing with
  // the kick can come before it, never between it and the close.
  close_with(self, msg, close_code_of(reason), to_string(reason));
  finish(self);
}

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
  close_with(self,
             json{{"type", "error"},
                  {"code", "invalid_token"},
                  {"message", "the token is invalid, expired or its session has ended"}},
             close_code_of(kick_reason::unauthorized), "unauthorized");
  finish(self);
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

void on_resolved(connection_self* self, token_resolution& r) {
  auto& st = self->state;
  bool waiting = r.from_auth_message ? st.at == connection_state::phase::attaching
                                     : st.at == connection_state::phase::awaiting_auth;
  if (!waiting) {
    return; // closed meanwhile, or authenticated by an auth message first
  }
  if (r.outcome.who) {
    attach(self, std::move(*r.outcome.who));
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

/// One text frame from the client. The session has counted it and applied
/// the flood limit (net/message_rate_limiter) before it got here.
void on_frame(connection_self* self, const std::string& text) {
  auto& st = self->state;
  if (st.at == connection_state::phase::gone) {
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
  if (auto who = token.empty() ? std::nullopt : ctx->auth->authenticate(token)) {
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
