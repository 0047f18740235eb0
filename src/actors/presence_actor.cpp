#include "actors/presence_actor.hpp"

#include "actors/messages.hpp"
#include "net/ws_sink.hpp"
#include "util/json_text.hpp"
#include "util/metrics.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
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

caf::behavior presence_actor(presence_self* self, metrics* stats) {
  self->state.stats = stats;
  return {
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

caf::actor spawn_presence_actor(caf::actor_system& sys, metrics* stats) {
  return sys.spawn(presence_actor, stats);
}

} // namespace solod
