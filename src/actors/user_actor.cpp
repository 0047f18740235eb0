#include "actors/user_actor.hpp"

#include "actors/actor_failure.hpp"
#include "actors/messages.hpp"
#include "storage/session_registry.hpp"
#include "storage/db_pool.hpp"
#include "storage/session_repository.hpp"
#include "util/clock.hpp"
#include "util/json_text.hpp"
#include "util/metrics.hpp"
#include "util/random.hpp"
#include "util/saturating_time.hpp"
#include "util/time_format.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <optional>

namespace solod {

namespace {

/// The audit event type of a session that ended for `r`.
const char* audit_type_of(end_reason r) {
  switch (r) {
    case end_reason::superseded:
      return "session_superseded";
    case end_reason::logout:
      return "logout";
    case end_reason::admin:
      return "session_terminated";
    case end_reason::expired:
      return "session_expired";
  }
  return "session_terminated";
}

struct user_state {
  static inline const char* name = "user";

  const user_context* ctx = nullptr;
  std::int64_t user_id = 0;
  caf::actor directory;
  std::optional<live_session> live;
  /// The WebSocket connections of the live session.
  struct connection {
    caf::actor actor;
    std::string id;
  };
  std::vector<connection> connections;
  /// Logins wait here while one is being written, so they apply in order.
  std::deque<std::pair<login_request, login_reply>> waiting;
  bool writing = false;
  int ending = 0; ///< session ends whose row is still being written
  int auditing = 0; ///< session ends waiting for their audit commit, to answer
  /// Messages received from the directory; lets it retire us without losing any.
  std::uint64_t received = 0;
  bool retire_pending = false;
  /// Database jobs of this user still running, shared with the actor that
  /// replaces this one if it fails: the successor recovers only once they are done.
  std::shared_ptr<std::atomic<int>> db_jobs;
  /// A predecessor failed: its sessions must be ended in the database.
  bool recovery_due = false;
  bool recovery_holds_logins = false; ///< `writing` is set by the recovery, not a login
  bool fail_next_started = false;     ///< test hook (fail_point::next_started)
  /// Sessions of this user known to have ended (newest last): news of their
  /// start that arrives late must not bring them back.
  std::deque<std::string> ended_ids;

  void remember_ended(const std::string& id) {
    if (id.empty()) {
      return;
    }
    ended_ids.push_back(id);
    if (ended_ids.size() > 16) {
      ended_ids.pop_front();
    }
  }
  bool known_ended(const std::string& id) const {
    return std::find(ended_ids.begin(), ended_ids.end(), id) != ended_ids.end();
  }

  time_point now() const { return ctx->clk->now(); }
};

using user_self = caf::stateful_actor<user_state>;

void start_next_login(user_self* self);
void schedule_retire(user_self* self);

/// Queues database work, counted in `db_jobs` until it (or `failed`) has run.
bool submit(user_self* self, db_pool::work_fn work, db_pool::error_fn failed,
            db_pool::wait w = db_pool::wait::bounded) {
  auto jobs = self->state.db_jobs;
  (*jobs)++;
  bool queued = self->state.ctx->db->try_submit(
    [jobs, work = std::move(work)](soci::session& sql) {
      work(sql);
      (*jobs)--;
    },
    [jobs, failed = std::move(failed)](const std::string& what) {
      failed(what);
      (*jobs)--;
    },
    w);
  if (!queued) {
    (*jobs)--;
  }
  return queued;
}

void audit(user_self* self, audit_event ev) {
  self->send(self->state.ctx->audit, audit_atom::value, std::move(ev));
}

/// The audit row of login `s`.
audit_event login_success_of(const session_record& s) {
  return audit_event{.timestamp = s.login_ts,
                     .event_type = "login_success",
                     .user_id = s.user_id,
                     .username = s.username,
                     .session_id = s.id,
                     .ip_address = s.ip_address,
                     .user_agent = s.user_agent,
                     .status = "success"};
}

/// Audits the end of one of the user's sessions as `event_type` (`why` in error_message).
void audit_end(user_self* self, const char* event_type, const std::string& username,
               const std::string& session_id, const std::string& ip, const std::string& ua,
               const std::string& why) {
  audit(self, audit_event{.timestamp = self->state.now(),
                          .event_type = event_type,
                          .user_id = self->state.user_id,
                          .username = username,
                          .session_id = session_id,
                          .ip_address = ip,
                          .user_agent = ua,
                          .status = "success",
                          .error_message = why});
}

/// Schedules the expiry and idle checks of the live session.
void arm_timers(user_self* self) {
  auto& st = self->state;
  auto now = st.now();
  auto until_exp = std::chrono::duration_cast<milliseconds>(st.live->expires_at - now);
  self->delayed_send(self, std::max(until_exp, milliseconds{0}), expire_atom::value, st.live->id);
  self->delayed_send(self, st.ctx->cfg->auth.idle_timeout, idle_atom::value, st.live->id);
}

/// Tells every connection of the live session to go, and forgets them.
void kick_connections(user_self* self, kick_reason reason, const std::string& by_json) {
  auto& st = self->state;
  for (auto& c : st.connections) {
    self->demonitor(c.actor);
    self->send(c.actor, kick_atom::value, reason, by_json);
  }
  st.connections.clear();
  if (st.live) {
    st.live->connections->store(0);
  }
}

/// Takes the live session out of memory: its connections are kicked for
/// `kick` and the registry forgets it, so its token is refused from this moment.
live_session drop_live(user_self* self, kick_reason kick) {
  auto& st = self->state;
  kick_connections(self, kick, "");
  live_session ended = std::move(*st.live);
  st.live.reset();
  st.ctx->registry->erase(st.user_id, ended.id);
  st.remember_ended(ended.id);
  return ended;
}

/// Writes the end of session `ended` (`reason_text` in its row), then audits
/// `ev` and answers `reply` (see on_ended).
void record_end(user_self* self, const live_session& ended, std::string reason_text,
                audit_event ev, end_reply reply);

/// Ends the live session for `reason`: the registry first, so its token is
/// refused from this moment, then the database row and the audit log.
void end_live(user_self* self, end_reason reason, const std::string& ip,
              const std::string& user_agent, end_reply reply) {
  auto& st = self->state;
  live_session ended = drop_live(self, kick_reason_of(reason));
  audit_event ev{.timestamp = st.now(),
                 .event_type = audit_type_of(reason),
                 .user_id = st.user_id,
                 .username = ended.username,
                 .session_id = ended.id,
                 .ip_address = ip.empty() ? ended.ip : ip,
                 .user_agent = ip.empty() ? ended.user_agent : user_agent,
                 .status = "success",
                 .error_message = reason == end_reason::expired ? "expired" : ""};
  record_end(self, ended, to_string(reason), std::move(ev), std::move(reply));
}

/// A login whose login_success row could not be committed: no token was
/// handed out, so for the record the session never began. Its row ends with
/// reason `audit_failed`, and the audit log gets a login_failure
/// (`audit_unavailable`) in place of login_success; no logout is recorded.
void withdraw_login(user_self* self) {
  auto& st = self->state;
  live_session ended = drop_live(self, kick_reason::logout);
  audit_event ev{.timestamp = st.now(),
                 .event_type = "login_failure",
                 .user_id = st.user_id,
                 .username = ended.username,
                 .session_id = ended.id,
                 .ip_address = ended.ip,
                 .user_agent = ended.user_agent,
                 .status = "failure",
                 .error_message = "audit_unavailable"};
  record_end(self, ended, "audit_failed", std::move(ev), nullptr);
}

void record_end(user_self* self, const live_session& ended, std::string reason_text,
                audit_event ev, end_reply reply) {
  auto& st = self->state;
  auto at = st.now();
  auto self_handle = caf::actor_cast<caf::actor>(self);
  // The answer waits for the row: whoever hears "ended" may read the table.
  st.ending++;
  // `changed` false: another node ended the row first, and audited that end.
  auto done = [self_handle, ev, reply](bool changed) {
    caf::anon_send(self_handle, ended_atom::value, ev, reply, changed);
  };
  bool queued = submit(
    self, [id = ended.id, reason_text, at, done](soci::session& sql) {
      done(session_repository(sql).end(id, reason_text, at));
    },
    [id = ended.id, done](const std::string& what) {
      // The session is already dead in memory; its row stays open until the
      // database is back and the expiry at start-up ends it.
      spdlog::error("user: cannot record end of session {}: {}", id.substr(0, 8), what);
      done(true);
    },
    db_pool::wait::until_run); // ended in memory already: the row must follow, however late
  if (!queued) {
    spdlog::error("user: database queue full; end of session {} not recorded", ended.id.substr(0, 8));
    done(true);
  }
}

/// The database has recorded the end of a session: audit it, then answer.
/// `changed` false: the row had already ended (another node's login, or an
/// expiry there). An end someone asked for (a logout, an admin) is still
/// audited, since they are told it happened; a timer's end is not, so that
/// the nodes' expiry timers leave one row.
void on_ended(user_self* self, audit_event ev, end_reply reply, bool changed) {
  auto& st = self->state;
  st.ending--;
  auto ctx = st.ctx;
  if (!changed && !reply) {
    schedule_retire(self);
    return;
  }
  if (ctx->cfg->audit.durability == audit_durability::commit && reply) {
    // Until the commit answers, retiring would drop the reply: stay.
    st.auditing++;
    auto answered = [self, reply] {
      self->state.auditing--;
      reply(true);
      schedule_retire(self);
    };
    // The session has ended whatever the audit log says: a refused commit
    // (withdrawn by the audit actor) goes back as a plain event, kept and retried.
    auto requeue = [self, ev] { audit(self, ev); };
    self->request(ctx->audit, caf::infinite, commit_atom::value, ev)
      .then(
        [answered, requeue](bool committed) {
          if (!committed) {
            requeue();
          }
          answered();
        },
        [answered, requeue](caf::error&) {
          requeue();
          answered();
        });
  } else {
    audit(self, std::move(ev));
    if (reply) {
      reply(true);
    }
  }
  schedule_retire(self);
}

/// Makes `s` the live session: the registry first (put() replaces the old
/// entry atomically, so from here on only this session's token works), then
/// the expiry and idle timers.
void make_live(user_self* self, const session_record& s, time_point last_seen) {
  auto& st = self->state;
  auto live = make_live_session(s, last_seen);
  st.ctx->registry->put(live);
  st.live = std::move(live);
  arm_timers(self);
}

/// The database has recorded the new session: make it live and answer.
/// `old_id` is the session the database ended for it: the truth, even when
/// memory had not yet heard of it (it began on another node a moment ago).
void on_started(user_self* self, const session_record& s, const std::string& old_id,
                login_reply reply) {
  auto& st = self->state;
  auto ctx = st.ctx;
  if (st.known_ended(s.id) || st.ctx->registry->is_dead(s.id)) {
    // A login on another node superseded this one before its answer got
    // here (and audited that): it stays out of memory, yet it happened.
    auto ev = login_success_of(s);
    if (ctx->cfg->audit.durability != audit_durability::commit) {
      audit(self, std::move(ev));
      reply(login_outcome{login_outcome::status::ok, s});
      return;
    }
    self->request(ctx->audit, caf::infinite, commit_atom::value, std::move(ev))
      .then(
        [reply, s](bool committed) {
          reply(committed ? login_outcome{login_outcome::status::ok, s}
                          : login_outcome{login_outcome::status::unavailable, {}});
        },
        [reply](caf::error&) { reply(login_outcome{login_outcome::status::unavailable, {}}); });
    return;
  }
  if (st.live) {
    // The previous session ends now, as superseded by this login; its
    // connections learn who took over.
    nlohmann::json by{{"ip", s.ip_address},
                      {"user_agent", s.user_agent},
                      {"at", format_iso8601(s.login_ts)}};
    kick_connections(self, kick_reason::superseded, to_json_text(by));
    st.remember_ended(st.live->id);
    st.live.reset();
  }
  st.remember_ended(old_id);
  if (!old_id.empty()) {
    audit(self, audit_event{.timestamp = s.login_ts,
                            .event_type = "session_superseded",
                            .user_id = st.user_id,
                            .username = s.username,
                            .session_id = old_id,
                            .ip_address = s.ip_address,
                            .user_agent = s.user_agent,
                            .status = "success",
                            .error_message = "superseded by " + s.id.substr(0, 8)});
  }
  make_live(self, s, s.login_ts);

  auto ev = login_success_of(s);
  if (ctx->cfg->audit.durability == audit_durability::commit) {
    auto fail_closed = [self, reply, id = s.id] {
      // No audit row, no session: the token is never handed out.
      auto& st = self->state;
      if (st.live && st.live->id == id) {
        withdraw_login(self);
      }
      reply(login_outcome{login_outcome::status::unavailable, {}});
    };
    self->request(ctx->audit, caf::infinite, commit_atom::value, std::move(ev))
      .then(
        [reply, s, fail_closed](bool committed) {
          if (committed) {
            reply(login_outcome{login_outcome::status::ok, s});
          } else {
            fail_closed();
          }
        },
        [fail_closed](caf::error&) { fail_closed(); });
  } else {
    audit(self, std::move(ev));
    reply(login_outcome{login_outcome::status::ok, s});
  }
}

/// A login refused because the user has a live session (deny_new).
void refuse_login(user_self* self, const login_request& req, login_reply& reply) {
  audit(self, audit_event{.timestamp = self->state.now(),
                          .event_type = "login_failure",
                          .user_id = self->state.user_id,
                          .username = req.username,
                          .ip_address = req.ip,
                          .user_agent = req.user_agent,
                          .status = "failure",
                          .error_message = "session_active"});
  reply(login_outcome{login_outcome::status::session_active, {}});
}

void begin_login(user_self* self, const login_request& req, login_reply reply) {
  auto& st = self->state;
  auto ctx = st.ctx;
  auto now = st.now();
  const bool deny_new = ctx->cfg->auth.policy == session_policy::deny_new;
  if (st.live && deny_new && now < st.live->expires_at) {
    refuse_login(self, req, reply);
    start_next_login(self);
    return;
  }
  session_record s;
  s.id = random_hex(16);
  s.user_id = st.user_id;
  s.username = req.username;
  s.login_ts = now;
  s.last_seen = now;
  s.expires_at = add_saturating(now, ctx->cfg->auth.token_ttl);
  s.ip_address = req.ip;
  s.user_agent = req.user_agent;
  s.legal_basis = ctx->cfg->legal_basis.sessions;

  auto self_handle = caf::actor_cast<caf::actor>(self);
  // deny_new is decided again in the database, under the user's row lock: a
  // session may have begun on another node a moment ago.
  auto policy = deny_new ? live_policy::refuse : live_policy::replace;
  st.writing = true;
  bool queued = submit(
    self, [s, self_handle, req, reply, policy](soci::session& sql) {
      auto result = session_repository(sql).start(s, "superseded", policy);
      if (!result.started) {
        caf::anon_send(self_handle, refused_atom::value, req, reply, result.account_closed);
        return;
      }
      caf::anon_send(self_handle, started_atom::value, s, result.ended.value_or(""), reply);
    },
    [self_handle, reply](const std::string& what) {
      spdlog::error("user: cannot record new session: {}", what);
      caf::anon_send(self_handle, failed_atom::value, reply);
    });
  if (!queued) {
    st.writing = false;
    reply(login_outcome{login_outcome::status::unavailable, {}});
    start_next_login(self);
  }
}

void start_next_login(user_self* self) {
  auto& st = self->state;
  while (!st.writing && !st.waiting.empty()) {
    auto [req, reply] = std::move(st.waiting.front());
    st.waiting.pop_front();
    begin_login(self, req, std::move(reply));
  }
  schedule_retire(self);
}

bool is_idle(const user_state& st) {
  return !st.live && !st.writing && st.ending == 0 && st.auditing == 0 && st.waiting.empty() &&
         !st.recovery_due;
}

// -- failure and recovery ---------------------------------------------------------

/// This actor is failing (it threw, or its directory failed): fail closed.
/// The registry forgets the user's session at once, so its token is refused
/// from here on; the connections watch this actor and close with 1011 when it
/// is gone; replies still owed are answered by their answer_once fallback.
void forget_on_failure(user_self* self, const std::string& why) {
  auto& st = self->state;
  st.ctx->registry->erase_user(st.user_id);
  spdlog::error("user {}: actor failed ({}); session dropped from memory, connections closed",
                st.user_id, why);
}

/// A predecessor of this actor failed. Memory no longer vouches for the
/// user's live session in the database (the predecessor may have died between
/// writing a row and making it live), so it is ended, reason `server_error`,
/// once every database job of the predecessor has run. Logins wait meanwhile,
/// so a new session can never be ended by mistake.
void try_recover(user_self* self) {
  auto& st = self->state;
  if (!st.recovery_due) {
    return;
  }
  bool busy = st.db_jobs->load() > 0 || st.ending > 0 || (st.writing && !st.recovery_holds_logins);
  if (busy) {
    self->delayed_send(self, milliseconds{5}, retry_atom::value);
    return;
  }
  st.writing = true;
  st.recovery_holds_logins = true;
  auto keep = st.live ? st.live->id : std::string{};
  auto at = st.now();
  auto self_handle = caf::actor_cast<caf::actor>(self);
  auto user_id = st.user_id;
  bool queued = submit(
    self,
    [self_handle, user_id, keep, at](soci::session& sql) {
      auto ended = session_repository(sql).end_live_of(user_id, keep, "server_error", at);
      caf::anon_send(self_handle, recovered_atom::value, std::move(ended), true);
    },
    [self_handle](const std::string& what) {
      spdlog::error("user: cannot end the sessions of a failed actor: {}", what);
      caf::anon_send(self_handle, recovered_atom::value, std::vector<session_record>{}, false);
    });
  if (!queued) {
    caf::anon_send(self_handle, recovered_atom::value, std::vector<session_record>{}, false);
  }
}

/// The recovery ran: audit what it ended; if the database was out of reach,
/// let logins go on (a login ends any stale row itself) and try again later.
void on_recovered(user_self* self, std::vector<session_record>& ended, bool ok) {
  auto& st = self->state;
  st.writing = false;
  st.recovery_holds_logins = false;
  for (auto& s : ended) {
    spdlog::warn("user {}: session {} ended after an actor failure", st.user_id, s.id.substr(0, 8));
    audit_end(self, "session_terminated", s.username, s.id, s.ip_address, s.user_agent,
              "server_error");
  }
  if (ok) {
    st.recovery_due = false;
  } else {
    self->delayed_send(self, std::chrono::seconds{1}, retry_atom::value);
  }
  start_next_login(self);
}

void schedule_retire(user_self* self) {
  auto& st = self->state;
  if (is_idle(st) && !st.retire_pending) {
    st.retire_pending = true;
    self->delayed_send(self, st.ctx->retire_after, retire_atom::value);
  }
}

// -- other nodes and idleness ------------------------------------------------------

/// The kick a session end recorded by another node (its row's end_reason) causes here.
kick_reason kick_of_row_reason(const std::string& reason) {
  if (reason == "superseded") {
    return kick_reason::superseded;
  }
  if (reason == "logout" || reason == "audit_failed") {
    return kick_reason::logout;
  }
  if (reason == "expired") {
    return kick_reason::expired;
  }
  if (reason == "server_error") {
    return kick_reason::server_error;
  }
  return kick_reason::admin; // admin, and the CLI's disable and passwd
}

/// Applies another node's change in memory: that node wrote the row and the
/// audit, so here only the registry, the timers and the local connections change.
void apply_remote(user_self* self, const remote_change& change) {
  auto& st = self->state;
  const auto& s = change.session;
  if (change.what == remote_change::kind::ended) {
    st.remember_ended(s.id);
    if (st.live && st.live->id == s.id) {
      drop_live(self, kick_of_row_reason(change.reason));
      schedule_retire(self);
    }
    return;
  }
  if (st.known_ended(s.id) || st.ctx->registry->is_dead(s.id) ||
      (st.live && st.live->id == s.id)) {
    return; // late news of a session already over (or dropped here), or known
  }
  if (st.live) {
    nlohmann::json by{{"ip", s.ip_address},
                      {"user_agent", s.user_agent},
                      {"at", format_iso8601(s.login_ts)}};
    kick_connections(self, kick_reason::superseded, to_json_text(by));
    st.ctx->registry->erase(st.user_id, st.live->id);
    st.remember_ended(st.live->id);
    st.live.reset();
  }
  st.remember_ended(change.old_id);
  make_live(self, s, s.last_seen);
}

/// The idle timer found the session quiet on this node: end it in the
/// database only if no node holds a connection of it or has served it since
/// (another node may be serving it right now).
void check_idle_in_db(user_self* self, const live_session& live) {
  auto& st = self->state;
  auto self_handle = caf::actor_cast<caf::actor>(self);
  auto now = st.now();
  auto since = now - st.ctx->cfg->auth.idle_timeout;
  st.ending++;
  bool queued = submit(
    self, [self_handle, id = live.id, since, now](soci::session& sql) {
      bool ended = session_repository(sql).end_if_idle(id, since, now);
      caf::anon_send(self_handle, idle_atom::value, id, ended);
    },
    [self_handle, id = live.id](const std::string&) {
      caf::anon_send(self_handle, idle_atom::value, id, false);
    });
  if (!queued) {
    caf::anon_send(self_handle, idle_atom::value, live.id, false);
  }
}

/// The database answered the idle check: the row has ended (audit it, as
/// its end happened here), or the session is in use elsewhere (check later).
void on_idle_checked(user_self* self, const std::string& id, bool ended) {
  auto& st = self->state;
  st.ending--;
  if (!st.live || st.live->id != id) {
    schedule_retire(self);
    return;
  }
  if (!ended) {
    self->delayed_send(self, st.ctx->cfg->auth.idle_timeout, idle_atom::value, id);
    return;
  }
  live_session gone = drop_live(self, kick_reason::expired);
  audit_end(self, "session_expired", gone.username, gone.id, gone.ip, gone.user_agent, "expired");
  schedule_retire(self);
}

caf::behavior user_actor(user_self* self, const user_context* ctx, std::int64_t user_id,
                         caf::actor directory, std::shared_ptr<std::atomic<int>> db_jobs) {
  auto& st = self->state;
  st.ctx = ctx;
  st.user_id = user_id;
  st.directory = std::move(directory);
  st.db_jobs = db_jobs ? std::move(db_jobs) : std::make_shared<std::atomic<int>>(0);
  schedule_retire(self);
  self->set_exception_handler([self](std::exception_ptr& x) -> caf::error {
    auto why = describe(x);
    forget_on_failure(self, why);
    return caf::make_error(caf::sec::runtime_error, std::move(why));
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    // Only the directory is linked to us: it failed, or the server stops.
    if (is_failure(msg.reason)) {
      forget_on_failure(self, "directory gone: " + caf::to_string(msg.reason));
    }
    if (msg.reason) {
      self->quit(msg.reason);
    }
  });
  self->set_down_handler([=](caf::down_msg& msg) {
    // A connection closed: forget it, so the count and the idle check stay exact.
    auto& st = self->state;
    auto& conns = st.connections;
    conns.erase(std::remove_if(conns.begin(), conns.end(),
                               [&](const auto& c) { return c.actor.address() == msg.source; }),
                conns.end());
    if (st.live) {
      st.live->connections->store(static_cast<int>(conns.size()));
      // Idle time counts from the last connection's close.
      st.live->last_seen_ms->store(to_unix_ms(st.now()));
    }
  });
  return {
    // -- from the directory ---------------------------------------------------
    [=](attach_atom, attach_request& req) -> std::tuple<attach_status, caf::actor> {
      // The connection learns who we are, to watch us: if we fail, it closes.
      auto me = caf::actor_cast<caf::actor>(self);
      auto& st = self->state;
      st.received++;
      if (!st.live || st.live->id != req.session_id || st.now() >= st.live->expires_at) {
        return {attach_status::not_live, me};
      }
      auto max = static_cast<std::size_t>(st.ctx->cfg->auth.max_connections_per_session);
      if (st.connections.size() >= max) {
        return {attach_status::too_many, me};
      }
      self->monitor(req.connection);
      st.connections.push_back({std::move(req.connection), std::move(req.connection_id)});
      st.live->connections->store(static_cast<int>(st.connections.size()));
      return {attach_status::ok, me};
    },
    [=](login_atom, login_request& req, login_reply& reply) {
      auto& st = self->state;
      st.received++;
      st.waiting.emplace_back(std::move(req), std::move(reply));
      start_next_login(self);
    },
    [=](end_atom, end_request& req, end_reply& reply) {
      auto& st = self->state;
      st.received++;
      if (!st.live || st.live->id != req.session_id) {
        // Already over (a second logout, or one racing a newer login).
        if (reply) {
          reply(false);
        }
        return;
      }
      end_live(self, req.reason, req.ip, req.user_agent, std::move(reply));
    },
    [=](restore_atom, session_record& s) {
      auto& st = self->state;
      st.received++;
      make_live(self, s, s.last_seen);
    },
    // -- from the database pool -------------------------------------------------
    [=](started_atom, session_record& s, std::string& old_id, login_reply& reply) {
      if (self->state.fail_next_started) {
        // Test hook: die as the json.dump() did, after the database wrote.
        throw std::runtime_error("injected failure after the login's row was written");
      }
      self->state.writing = false;
      on_started(self, s, old_id, std::move(reply));
      start_next_login(self);
    },
    [=](failed_atom, login_reply& reply) {
      self->state.writing = false;
      reply(login_outcome{login_outcome::status::unavailable, {}});
      start_next_login(self);
    },
    [=](ended_atom, audit_event& ev, end_reply& reply, bool changed) {
      on_ended(self, std::move(ev), std::move(reply), changed);
    },
    [=](refused_atom, const login_request& req, login_reply& reply, bool account_closed) {
      self->state.writing = false;
      if (account_closed) {
        reply(login_outcome{login_outcome::status::account_closed, {}}); // the login service audits it
      } else {
        refuse_login(self, req, reply);
      }
      start_next_login(self);
    },
    [=](idle_atom, const std::string& id, bool ended) { on_idle_checked(self, id, ended); },
    // -- from the cluster actor (another node's change) ---------------------------
    [=](remote_atom, remote_change& change, applied_reply& applied) {
      self->state.received++;
      apply_remote(self, change);
      applied(true);
    },
    // -- recovery and test hooks ---------------------------------------------------
    [=](recover_atom) {
      auto& st = self->state;
      st.received++;
      st.recovery_due = true;
      st.writing = true;
      st.recovery_holds_logins = true;
      try_recover(self);
    },
    [=](retry_atom) { try_recover(self); },
    [=](recovered_atom, std::vector<session_record>& ended, bool ok) {
      on_recovered(self, ended, ok);
    },
    [=](fail_atom, fail_point where) {
      auto& st = self->state;
      st.received++;
      if (!st.ctx->test_hooks) {
        return;
      }
      if (where == fail_point::now) {
        throw std::runtime_error("injected failure (test hook)");
      }
      st.fail_next_started = true;
    },
    // -- timers -------------------------------------------------------------------
    [=](expire_atom, const std::string& id) {
      auto& st = self->state;
      if (!st.live || st.live->id != id) {
        return;
      }
      auto now = st.now();
      if (now >= st.live->expires_at) {
        end_live(self, end_reason::expired, "", "", nullptr);
      } else {
        // The clock and the timer disagree by a little: check again when due.
        self->delayed_send(self, std::chrono::duration_cast<milliseconds>(st.live->expires_at - now),
                           expire_atom::value, id);
      }
    },
    [=](idle_atom, const std::string& id) {
      auto& st = self->state;
      if (!st.live || st.live->id != id) {
        return;
      }
      auto idle_timeout = st.ctx->cfg->auth.idle_timeout;
      auto last = time_point{milliseconds{st.live->last_seen_ms->load()}};
      auto quiet = std::chrono::duration_cast<milliseconds>(st.now() - last);
      if (st.live->connections->load() == 0 && quiet >= idle_timeout) {
        check_idle_in_db(self, *st.live);
        return;
      }
      auto next = st.live->connections->load() > 0 ? idle_timeout : idle_timeout - quiet;
      self->delayed_send(self, std::max(next, milliseconds{1}), idle_atom::value, id);
    },
    [=](retire_atom) {
      auto& st = self->state;
      st.retire_pending = false;
      if (!is_idle(st)) {
        return;
      }
      self->request(st.directory, caf::infinite, retire_atom::value, st.user_id, st.received)
        .then([=](bool approved) {
          if (approved) {
            self->quit();
          } else {
            schedule_retire(self);
          }
        });
    },
  };
}

} // namespace

caf::actor spawn_user_actor(caf::actor_system& sys, const user_context* ctx,
                            std::int64_t user_id, caf::actor directory,
                            std::shared_ptr<std::atomic<int>> db_jobs) {
  return sys.spawn(user_actor, ctx, user_id, std::move(directory), std::move(db_jobs));
}

} // namespace solod
