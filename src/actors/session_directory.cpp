#include "actors/session_directory.hpp"

#include "actors/messages.hpp"
#include "actors/user_actor.hpp"

#include <caf/all.hpp>

#include <unordered_map>

namespace solod {

namespace {

struct directory_state {
  static inline const char* name = "session_directory";

  struct entry {
    caf::actor actor;
    std::uint64_t forwarded = 0;
  };
  const user_context* ctx = nullptr;
  std::unordered_map<std::int64_t, entry> users;
};

using directory_self = caf::stateful_actor<directory_state>;

/// The user's actor, spawned if needed, with its forward count bumped.
caf::actor& route(directory_self* self, std::int64_t user_id) {
  auto& st = self->state;
  auto it = st.users.find(user_id);
  if (it == st.users.end()) {
    auto actor = spawn_user_actor(self->system(), st.ctx, user_id,
                                  caf::actor_cast<caf::actor>(self));
    // Linked: when the directory goes, its user actors go with it.
    self->link_to(actor);
    it = st.users.emplace(user_id, directory_state::entry{std::move(actor), 0}).first;
  }
  it->second.forwarded++;
  return it->second.actor;
}

caf::behavior session_directory(directory_self* self, const user_context* ctx) {
  self->state.ctx = ctx;
  self->set_exit_handler([=](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::normal) {
      return; // a retired user actor, already forgotten
    }
    auto& users = self->state.users;
    for (auto it = users.begin(); it != users.end(); ++it) {
      if (it->second.actor.address() == msg.source) {
        // A user actor failed: forget it, the next request spawns a fresh one.
        users.erase(it);
        return;
      }
    }
    self->quit(msg.reason);
  });
  return {
    [=](login_atom a, login_request& req, login_reply& reply) {
      auto& dest = route(self, req.user_id);
      self->send(dest, a, std::move(req), std::move(reply));
    },
    [=](end_atom a, end_request& req, end_reply& reply) {
      auto& dest = route(self, req.user_id);
      self->send(dest, a, std::move(req), std::move(reply));
    },
    [=](attach_atom a, attach_request& req) {
      auto& dest = route(self, req.user_id);
      // The user actor answers the connection directly.
      return self->delegate(dest, a, std::move(req));
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
  };
}

} // namespace

caf::actor spawn_session_directory(caf::actor_system& sys, const user_context* ctx) {
  return sys.spawn(session_directory, ctx);
}

} // namespace solod
