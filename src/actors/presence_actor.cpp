#include "actors/presence_actor.hpp"

#include "actors/actor_failure.hpp"
#include "actors/actor_slot.hpp"
#include "actors/messages.hpp"
#include "actors/online_board.hpp"
#include "actors/ws_sink.hpp"
#include "util/json_text.hpp"
#include "util/metrics.hpp"
#include "util/node_id.hpp"

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
    std::unordered_map<std::string, cluster_connection> rows;             ///< by connection id
  };
  /// This node's connections.
  std::unordered_map<std::int64_t, online_user> users;
  /// The other nodes' connections: node -> connection id -> row.
  std::unordered_map<std::string, std::unordered_map<std::string, cluster_connection>> remote;
  /// Connections of each user on other nodes.
  std::unordered_map<std::int64_t, int> remote_count;
  /// Everyone online anywhere: user id -> username, and lower-case name -> id.
  std::unordered_map<std::int64_t, std::string> online;
  std::unordered_map<std::string, std::int64_t> by_name;
  std::unordered_map<std::string, std::shared_ptr<ws_sink>> subscribers; ///< by connection id
  std::vector<ws_text> pending;
  bool flush_queued = false;
  metrics* stats = nullptr;
  presence_links links;
};

using presence_self = caf::stateful_actor<presence_state>;

void changed(presence_self* self, const std::string& username, const char* status) {
  auto& st = self->state;
  nlohmann::json msg{{"type", "presence"},
                     {"user", username},
                     {"status", status},
                     {"count", st.online.size()}};
  st.pending.push_back(make_ws_text(to_json_text(msg)));
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);
  }
}

/// Re-evaluates whether `user_id` is online anywhere, announcing a change.
void refresh(presence_self* self, std::int64_t user_id, const std::string& username) {
  auto& st = self->state;
  bool now_online = st.users.count(user_id) > 0 || st.remote_count[user_id] > 0;
  if (st.remote_count[user_id] <= 0) {
    st.remote_count.erase(user_id);
  }
  bool was_online = st.online.count(user_id) > 0;
  if (now_online == was_online) {
    return;
  }
  if (now_online) {
    st.online[user_id] = username;
    st.by_name[lower(username)] = user_id;
    if (st.links.board) {
      st.links.board->add(username);
    }
    changed(self, username, "online");
  } else {
    auto name = st.online[user_id];
    st.online.erase(user_id);
    st.by_name.erase(lower(name));
    if (st.links.board) {
      st.links.board->remove(name);
    }
    changed(self, name, "offline");
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
  // Whatever this actor told the cluster and the board is void now.
  if (st.links.board) {
    st.links.board->clear();
  }
  if (st.links.cluster) {
    for (auto& [id, u] : st.users) {
      for (auto& [conn_id, row] : u.rows) {
        self->send(st.links.cluster, publish_atom::value, presence_change{false, row});
      }
    }
  }
}

void join(presence_self* self, cluster_connection row, std::shared_ptr<ws_sink> sink) {
  auto& st = self->state;
  row.node_id = this_node_id();
  auto& u = st.users[row.user_id];
  u.username = row.username;
  u.connections[row.connection_id] = std::move(sink);
  u.rows[row.connection_id] = row;
  if (st.links.cluster) {
    self->send(st.links.cluster, publish_atom::value, presence_change{true, row});
  }
  refresh(self, row.user_id, row.username);
}

void leave(presence_self* self, std::int64_t user_id, const std::string& conn_id) {
  auto& st = self->state;
  st.subscribers.erase(conn_id);
  auto it = st.users.find(user_id);
  if (it == st.users.end() || it->second.connections.erase(conn_id) == 0) {
    return;
  }
  auto row = std::move(it->second.rows[conn_id]);
  it->second.rows.erase(conn_id);
  auto username = it->second.username;
  if (it->second.connections.empty()) {
    st.users.erase(it);
  }
  if (st.links.cluster) {
    self->send(st.links.cluster, publish_atom::value, presence_change{false, row});
  }
  refresh(self, user_id, username);
}

void remote_joined(presence_self* self, const cluster_connection& c) {
  auto& st = self->state;
  auto [it, added] = st.remote[c.node_id].try_emplace(c.connection_id, c);
  if (added) {
    st.remote_count[c.user_id]++;
    refresh(self, c.user_id, c.username);
  }
}

void remote_left(presence_self* self, const std::string& node_id, const std::string& conn_id) {
  auto& st = self->state;
  auto node = st.remote.find(node_id);
  if (node == st.remote.end()) {
    return;
  }
  auto it = node->second.find(conn_id);
  if (it == node->second.end()) {
    return;
  }
  auto c = std::move(it->second);
  node->second.erase(it);
  if (node->second.empty()) {
    st.remote.erase(node);
  }
  st.remote_count[c.user_id]--;
  refresh(self, c.user_id, c.username);
}

void node_gone(presence_self* self, const std::string& node_id) {
  auto& st = self->state;
  auto node = st.remote.find(node_id);
  if (node == st.remote.end()) {
    return;
  }
  std::vector<std::string> ids;
  for (auto& [conn_id, c] : node->second) {
    ids.push_back(conn_id);
  }
  for (auto& id : ids) {
    remote_left(self, node_id, id);
  }
}

/// A resync's full view of the other nodes replaces what was known.
void replace_remote(presence_self* self, const std::vector<cluster_connection>& rows) {
  auto& st = self->state;
  std::unordered_map<std::string, std::unordered_set<std::string>> fresh;
  for (const auto& c : rows) {
    if (c.node_id == this_node_id()) {
      continue;
    }
    fresh[c.node_id].insert(c.connection_id);
    remote_joined(self, c);
  }
  std::vector<std::pair<std::string, std::string>> stale;
  for (auto& [node_id, conns] : st.remote) {
    for (auto& [conn_id, c] : conns) {
      auto f = fresh.find(node_id);
      if (f == fresh.end() || f->second.count(conn_id) == 0) {
        stale.emplace_back(node_id, conn_id);
      }
    }
  }
  for (auto& [node_id, conn_id] : stale) {
    remote_left(self, node_id, conn_id);
  }
}

/// Sends `text` to this node's connections of `to` (everyone when empty); how many.
std::size_t deliver_here(presence_self* self, const std::string& to, const ws_text& text) {
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
    if (it != st.by_name.end()) {
      auto u = st.users.find(it->second);
      if (u != st.users.end()) {
        send_to(u->second);
      }
    }
  }
  if (st.stats) {
    st.stats->ws_messages_out += delivered;
  }
  return delivered;
}

/// Delivers here, and through the cluster to the nodes where `to` (or, when
/// empty, anyone) is connected; false when `to` is online nowhere.
bool deliver(presence_self* self, const std::string& to, const ws_text& text) {
  auto& st = self->state;
  if (!to.empty() && st.by_name.count(lower(to)) == 0) {
    return false;
  }
  deliver_here(self, to, text);
  bool elsewhere = to.empty() ? !st.remote.empty()
                              : st.remote_count.count(st.by_name[lower(to)]) > 0;
  if (elsewhere && st.links.cluster) {
    self->send(st.links.cluster, relay_atom::value, to, text);
  }
  return true;
}

caf::behavior presence_actor(presence_self* self, metrics* stats, bool test_hooks,
                             presence_links links) {
  self->state.stats = stats;
  self->state.links = std::move(links);
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
    [=](join_atom, cluster_connection& row, std::shared_ptr<ws_sink>& sink) {
      join(self, std::move(row), std::move(sink));
    },
    [=](join_atom, std::int64_t user_id, const std::string& username, const std::string& conn_id,
        std::shared_ptr<ws_sink>& sink) {
      cluster_connection row;
      row.user_id = user_id;
      row.username = username;
      row.connection_id = conn_id;
      join(self, std::move(row), std::move(sink));
    },
    [=](leave_atom, std::int64_t user_id, const std::string& conn_id) {
      leave(self, user_id, conn_id);
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
      names.reserve(self->state.online.size());
      for (const auto& [id, name] : self->state.online) {
        names.push_back(name);
      }
      std::sort(names.begin(), names.end());
      return names;
    },
    [=](deliver_atom, const std::string& to, ws_text& text) { return deliver(self, to, text); },
    // -- the other nodes, through the cluster actor ------------------------------
    [=](remote_atom, const presence_change& ch) {
      if (ch.connection.node_id == this_node_id()) {
        return;
      }
      if (ch.joined) {
        remote_joined(self, ch.connection);
      } else {
        remote_left(self, ch.connection.node_id, ch.connection.connection_id);
      }
    },
    [=](remote_atom, const std::vector<cluster_connection>& rows) { replace_remote(self, rows); },
    [=](gone_atom, const std::string& node_id) { node_gone(self, node_id); },
    [=](relay_atom, const std::string& to, ws_text& text) { deliver_here(self, to, text); },
    [=](local_atom) {
      std::vector<cluster_connection> rows;
      for (auto& [id, u] : self->state.users) {
        for (auto& [conn_id, row] : u.rows) {
          rows.push_back(row);
        }
      }
      return rows;
    },
  };
}

} // namespace

caf::actor spawn_presence_actor(caf::actor_system& sys, metrics* stats, bool test_hooks,
                                presence_links links) {
  return sys.spawn(presence_actor, stats, test_hooks, std::move(links));
}

void supervise_presence(caf::actor_system& sys, metrics* stats, actor_slot& slot,
                        bool test_hooks, presence_links links) {
  auto presence = spawn_presence_actor(sys, stats, test_hooks, links);
  slot.set(presence);
  auto* sys_ptr = &sys;
  auto* slot_ptr = &slot;
  caf::actor_cast<caf::abstract_actor*>(presence)->attach_functor(
    [sys_ptr, stats, slot_ptr, test_hooks, links](const caf::error& reason) {
      if (!is_failure(reason)) {
        return;
      }
      if (stats) {
        stats->count_failure(metrics::actor_kind::presence);
      }
      spdlog::error("presence: restarting after a failure ({})", caf::to_string(reason));
      supervise_presence(*sys_ptr, stats, *slot_ptr, test_hooks, links);
    });
}

} // namespace solod
