#include "actors/session_directory.hpp"

#include "actors/actor_failure.hpp"
#include "actors/answer_once.hpp"
#include "actors/messages.hpp"
#include "storage/session_registry.hpp"
#include "actors/user_actor.hpp"
#include "util/metrics.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <unordered_map>

namespace solod {

namespace {

struct directory_state {
  static inline const char* name = "session_directory";

  struct entry {
    caf::actor actor;
    std::uint64_t forwarded = 0;
    /// The user's database jobs still running; outlives a failed actor.
    std::shared_ptr<std::atomic<int>> db_jobs = std::make_shared<std::atomic<int>>(0);
  };
  const user_context* ctx = nullptr;
  std::unordered_map<std::int64_t, entry> users;
};

using directory_self = caf::stateful_actor<directory_state>;

/// The user's entry, its actor spawned if needed (sharing `db_jobs` with a failed predecessor).
directory_state::entry& entry_of(directory_self* self, std::int64_t user_id,
                                 std::shared_ptr<std::atomic<int>> db_jobs = nullptr) {
  auto& st = self->state;
  auto it = st.users.find(user_id);
  if (it == st.users.end()) {
    directory_state::entry e;
    if (db_jobs) {
      e.db_jobs = std::move(db_jobs);
    }
    e.actor = spawn_user_actor(self->system(), st.ctx, user_id,
                               caf::actor_cast<caf::actor>(self), e.db_jobs);
    // Linked: when the directory goes, its user actors go with it; when one
    // of them fails, the exit handler below hears it.
    self->link_to(e.actor);
    it = st.users.emplace(user_id, std::move(e)).first;
  }
  return it->second;
}

/// The user's actor, spawned if needed, with its forward count bumped.
caf::actor& route(directory_self* self, std::int64_t user_id) {
  auto& e = entry_of(self, user_id);
  e.forwarded++;
  return e.actor;
}

/// A user actor failed. Fail closed: its session leaves the registry (the
/// actor did so itself if it could; this covers any other way to die), a
/// fresh actor takes the user and first ends in the database what the failed
/// one may have left live. Its connections close by themselves (they watch it).
void on_user_failed(directory_self* self, std::int64_t user_id, const caf::error& reason) {
  auto& st = self->state;
  auto it = st.users.find(user_id);
  auto db_jobs = it->second.db_jobs;
  st.users.erase(it);
  st.ctx->registry->erase_user(user_id);
  if (st.ctx->stats) {
    st.ctx->stats->count_failure(metrics::actor_kind::user);
  }
  spdlog::error("session_directory: the actor of user {} failed ({}); its sessions are ended",
                user_id, caf::to_string(reason));
  auto& e = entry_of(self, user_id, std::move(db_jobs));
  e.forwarded++;
  self->send(e.actor, recover_atom::value);
}

void on_exit(directory_self* self, caf::exit_msg& msg) {
  if (msg.reason == caf::exit_reason::normal) {
    return; // a retired user actor, already forgotten
  }
  auto& users = self->state.users;
  for (auto& [user_id, e] : users) {
    if (e.actor.address() == msg.source) {
      on_user_failed(self, user_id, msg.reason);
      return;
    }
  }
  self->quit(msg.reason);
}

caf::behavior session_directory(directory_self* self, const user_context* ctx) {
  self->state.ctx = ctx;
  self->set_exit_handler([=](caf::exit_msg& msg) { on_exit(self, msg); });
  self->set_exception_handler([=](std::exception_ptr& x) -> caf::error {
    // The root of the session tree: its user actors end with it (linked) and
    // drop their sessions from the registry; the server shuts down.
    auto why = describe(x);
    spdlog::critical("session_directory: failed ({}); every session leaves memory", why);
    return caf::make_error(caf::sec::runtime_error, std::move(why));
  });
  return {
    [=](login_atom a, login_request& req, login_reply& reply) {
      auto& dest = route(self, req.user_id);
      // Should the user actor fail before it answers, the login hears 503.
      auto guarded = answer_once<const login_outcome&>(
        std::move(reply), login_outcome{login_outcome::status::unavailable, {}});
      self->send(dest, a, std::move(req), login_reply{std::move(guarded)});
    },
    [=](end_atom a, end_request& req, end_reply& reply) {
      auto& dest = route(self, req.user_id);
      self->send(dest, a, std::move(req), end_reply{answer_once<bool>(std::move(reply), false)});
    },
    [=](attach_atom a, attach_request& req) {
      auto& dest = route(self, req.user_id);
      // The user actor answers the connection directly.
      return self->delegate(dest, a, std::move(req));
    },
    [=](remote_atom a, remote_change& change, applied_reply& applied) {
      auto user_id = change.session.user_id;
      auto& users = self->state.users;
      if (change.what == remote_change::kind::ended && users.count(user_id) == 0) {
        // No actor here, so no connection here: forgetting the token is all.
        self->state.ctx->registry->erase(user_id, change.session.id);
        applied(true);
        return;
      }
      auto& dest = route(self, user_id);
      self->send(dest, a, std::move(change), applied_reply{answer_once<bool>(std::move(applied), false)});
    },
    [=](restore_atom a, session_record& s) {
      auto& dest = route(self, s.user_id);
      self->send(dest, a, std::move(s));
    },
    [=](retire_atom, std::int64_t user_id, std::uint64_t handled) {
      auto& users = self->state.users;
      auto it = users.find(user_id);
      if (it == users.end() || it->second.forwarded != handled) {
        return false;
      }
      users.erase(it);
      return true;
    },
    [=](count_atom) { return self->state.users.size(); },
    // -- test hooks (ignored unless ctx->test_hooks) ------------------------------
    [=](fail_atom) {
      if (self->state.ctx->test_hooks) {
        throw std::runtime_error("injected failure (test hook)");
      }
    },
    [=](fail_atom a, fail_point where) {
      if (self->state.ctx->test_hooks) {
        for (auto& [user_id, e] : self->state.users) {
          e.forwarded++;
          self->send(e.actor, a, where);
        }
      }
    },
    [=](fail_atom a, std::int64_t user_id, fail_point where) {
      if (self->state.ctx->test_hooks) {
        self->send(route(self, user_id), a, where);
      }
    },
  };
}

} // namespace

caf::actor spawn_session_directory(caf::actor_system& sys, const user_context* ctx) {
  auto directory = sys.spawn(session_directory, ctx);
  auto stats = ctx->stats;
  caf::actor_cast<caf::abstract_actor*>(directory)->attach_functor([stats](const caf::error& reason) {
    if (is_failure(reason) && stats) {
      stats->count_failure(metrics::actor_kind::directory);
    }
  });
  return directory;
}

} // namespace solod
