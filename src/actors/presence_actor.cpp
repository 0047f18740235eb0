#include "actors/presence_actor.hpp"

#include "actors/actor_failure.hpp"
#include "actors/actor_slot.hpp"
#include "actors/messages.hpp"
#include "actors/ws_sink.hpp"
#include "util/json_text.hpp"
#include "util/metrics.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <unordered_set>
#include <unordered_map>

namespace solod {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct presence_state {
  static inline const char* name = "presence";

  struct online_user {
    std::string username;
    std::unordered_map<std::string, std::shared_ptr<ws_sink>> connections; ///< by connection id
  };
  std::unordered_map<std::int64_t, online_user> users;
  std::unordered_map<std::string, std::int64_t> by_name; ///< lower-case username -> id
  std::unordered_map<std::string, std::shared_ptr<ws_sink>> subscribers; ///< by connection id
  std::vector<ws_text> pending;
  bool flush_queued = false;
  metrics* stats = nullptr;
};

using presence_self = caf::stateful_actor<presence_state>;

void changed(presence_self* self, const std::string& username, const char* status) {
  auto& st = self->state;
  nlohmann::json msg{{"type", "presence"},
                     {"user", username},
                     {"status", status},
                     {"count", st.users.size()}};
  st.pending.push_back(make_ws_text(to_json_text(msg)));
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);
  }
}

void flush(presence_self* self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.pending.empty()) {
    return;
  }
  auto batch = std::make_shared<const std::vector<ws_text>>(std::move(st.pending));
  st.pending.clear();
  for (auto& [id, sink] : st.subscribers) {
    sink->send_batch(batch);
  }
  if (st.stats) {
    st.stats->presence_deliveries += batch->size() * st.subscribers.size();
  }
}

/// The actor is failing: close every connection it knows, once each, with
/// `kicked` `server_error` and 1011. Their sessions stay; the clients reconnect.
void close_all(presence_self* self) {
  auto& st = self->state;
  auto last = make_ws_text(R"({"type":"kicked","reason":"server_error"})");
  std::unordered_set<ws_sink*> closed;
  auto close = [&](const std::shared_ptr<ws_sink>& sink) {
    if (sink && closed.insert(sink.get()).second) {
      sink->close(last, close_code_of(kick_reason::server_error), "server_error");
    }
  };
  for (auto& [id, u] : st.users) {
    for (auto& [conn_id, sink] : u.connections) {
      close(sink);
    }
  }
  for (auto& [id, sink] : st.subscribers) {
    close(sink);
  }
  if (st.stats) {
    st.stats->kicks[static_cast<std::size_t>(kick_reason::server_error)] += closed.size();
  }
}

caf::behavior presence_actor(presence_self* self, metrics* stats, bool test_hooks) {
  self->state.stats = stats;
  self->set_exception_handler([self](std::exception_ptr& x) -> caf::error {
    auto why = describe(x);
    spdlog::error("presence: actor failed ({}); closing its {} users' connections", why,
                  self->state.users.size());
    close_all(self);
    return caf::make_error(caf::sec::runtime_error, std::move(why));
  });
  return {
    [=](fail_atom) {
      if (test_hooks) {
        throw std::runtime_error("injected failure (test hook)");
      }
    },
    [=](join_atom, std::int64_t user_id, const std::string& username, const std::string& conn_id,
        std::shared_ptr<ws_sink>& sink) {
      auto& st = self->state;
      auto [it, first] = st.users.try_emplace(user_id);
      it->second.username = username;
      it->second.connections[conn_id] = std::move(sink);
      if (first) {
        st.by_name[lower(username)] = user_id;
        changed(self, username, "online");
      }
    },
    [=](leave_atom, std::int64_t user_id, const std::string& conn_id) {
      auto& st = self->state;
      st.subscribers.erase(conn_id);
      auto it = st.users.find(user_id);
      if (it == st.users.end() || it->second.connections.erase(conn_id) == 0) {
        return;
      }
      if (it->second.connections.empty()) {
        auto username = it->second.username;
        st.by_name.erase(lower(username));
        st.users.erase(it);
        changed(self, username, "offline");
      }
    },
    [=](subscribe_atom, const std::string& conn_id, std::shared_ptr<ws_sink>& sink) {
      // Changes held for the current subscribers happened before this one
      // subscribed: deliver them first, then confirm. From "subscribed" on,
      // the subscriber gets every change, in order, through the same sink.
      flush(self);
      sink->send(make_ws_text(R"({"type":"subscribed","topic":"presence"})"));
      self->state.subscribers[conn_id] = std::move(sink);
    },
    [=](flush_atom) { flush(self); },
    [=](online_atom) {
      std::vector<std::string> names;
      names.reserve(self->state.users.size());
      for (const auto& [id, u] : self->state.users) {
        names.push_back(u.username);
      }
      std::sort(names.begin(), names.end());
      return names;
    },
    [=](deliver_atom, const std::string& to, ws_text& text) {
      auto& st = self->state;
      std::size_t delivered = 0;
      auto send_to = [&](const presence_state::online_user& u) {
        for (auto& [id, sink] : u.connections) {
          sink->send(text);
          ++delivered;
        }
      };
      if (to.empty()) {
        for (const auto& [id, u] : st.users) {
          send_to(u);
        }
      } else {
        auto it = st.by_name.find(lower(to));
        if (it == st.by_name.end()) {
          return false;
        }
        send_to(st.users.at(it->second));
      }
      if (st.stats) {
        st.stats->ws_messages_out += delivered;
      }
      return true;
    },
  };
}

} // namespace

caf::actor spawn_presence_actor(caf::actor_system& sys, metrics* stats, bool test_hooks) {
  return sys.spawn(presence_actor, stats, test_hooks);
}

void supervise_presence(caf::actor_system& sys, metrics* stats, actor_slot& slot,
                        bool test_hooks) {
  auto presence = spawn_presence_actor(sys, stats, test_hooks);
  slot.set(presence);
  auto* sys_ptr = &sys;
  auto* slot_ptr = &slot;
  caf::actor_cast<caf::abstract_actor*>(presence)->attach_functor(
    [sys_ptr, stats, slot_ptr, test_hooks](const caf::error& reason) {
      if (!is_failure(reason)) {
        return;
      }
      if (stats) {
        stats->count_failure(metrics::actor_kind::presence);
      }
      spdlog::error("presence: restarting after a failure ({})", caf::to_string(reason));
      supervise_presence(*sys_ptr, stats, *slot_ptr, test_hooks);
    });
}

} // namespace solod
