#include "actors/cluster_actor.hpp"

#include "actors/actor_slot.hpp"
#include "actors/messages.hpp"
#include "storage/cluster_news.hpp"
#include "storage/cluster_repository.hpp"
#include "storage/db_pool.hpp"
#include "storage/session_registry.hpp"
#include "storage/session_repository.hpp"
#include "util/clock.hpp"
#include "util/node_id.hpp"
#include "util/time_format.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <unordered_map>

namespace solod {

namespace {

using json = nlohmann::json;

/// What a resync read: the truth about sessions and connections.
struct cluster_snapshot {
  std::vector<session_record> live;
  /// Sessions memory holds (user id, session id) that the database says have
  /// ended, with the row's end_reason.
  std::vector<std::pair<std::int64_t, std::pair<std::string, std::string>>> dead;
  std::vector<cluster_connection> connections;
};

} // namespace
} // namespace solod

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::cluster_snapshot)

namespace solod {

namespace {

std::string text_of(const json& e, const char* key) {
  auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::int64_t int_of(const json& e, const char* key) {
  auto it = e.find(key);
  return it != e.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

cluster_connection connection_of(const json& e) {
  cluster_connection c;
  c.node_id = text_of(e, "node");
  c.connection_id = text_of(e, "c");
  c.user_id = int_of(e, "u");
  c.username = text_of(e, "n");
  c.session_id = text_of(e, "s");
  c.ip_address = text_of(e, "ip");
  c.user_agent = text_of(e, "ua");
  c.connected_at = parse_iso8601(text_of(e, "at")).value_or(time_point{});
  return c;
}

json event_of(const presence_change& ch) {
  const auto& c = ch.connection;
  if (!ch.joined) {
    return {{"k", "leave"}, {"node", c.node_id}, {"c", c.connection_id}, {"u", c.user_id}};
  }
  return {{"k", "join"}, {"node", c.node_id}, {"c", c.connection_id}, {"u", c.user_id},
          {"n", c.username}, {"s", c.session_id}, {"ip", c.ip_address}, {"ua", c.user_agent},
          {"at", format_iso8601(c.connected_at)}};
}

remote_change started_of(const json& e) {
  remote_change ch;
  ch.what = remote_change::kind::started;
  auto& s = ch.session;
  s.user_id = int_of(e, "u");
  s.id = text_of(e, "s");
  s.username = text_of(e, "n");
  s.ip_address = text_of(e, "ip");
  s.user_agent = text_of(e, "ua");
  s.login_ts = parse_iso8601(text_of(e, "at")).value_or(time_point{});
  s.last_seen = s.login_ts;
  s.expires_at = parse_iso8601(text_of(e, "exp")).value_or(time_point{});
  ch.old_id = text_of(e, "old");
  return ch;
}

remote_change ended_of(std::int64_t user_id, std::string id, std::string reason) {
  remote_change ch;
  ch.what = remote_change::kind::ended;
  ch.session.user_id = user_id;
  ch.session.id = std::move(id);
  ch.reason = std::move(reason);
  return ch;
}

struct cluster_state {
  static inline const char* name = "cluster";

  cluster_options opt;
  std::uint64_t generation = 0;
  bool syncing = false;       ///< a resync is reading the tables: news waits in `held`
  bool reconciling = false;   ///< a periodic check is reading the tables (news flows on)
  bool restore_trust = false; ///< the registry is trusted again once `correcting` is 0
  int correcting = 0;         ///< resync corrections not yet applied by their user actors
  std::deque<news_item> held;
  std::vector<presence_change> changes; ///< this node's joins and leaves to publish
  json relays = json::array();          ///< messages for other nodes
  bool flush_queued = false;
  std::chrono::steady_clock::time_point last_flush{}; ///< when the last batch left
  bool republish = false; ///< this node's connection rows must be written anew
  /// last_seen written, per session; used only by jobs on the cluster's one database thread.
  std::shared_ptr<std::unordered_map<std::string, long long>> seen_ms =
    std::make_shared<std::unordered_map<std::string, long long>>();
  std::uint64_t ticks = 0;
};

using cluster_self = caf::stateful_actor<cluster_state>;

void handle_item(cluster_self* self, news_item item);
void start_sync(cluster_self* self, bool restore);

/// Sends one correction (or news) to the user's actor; counted when it is
/// part of restoring trust.
void to_user(cluster_self* self, remote_change change, bool counted) {
  auto& st = self->state;
  applied_reply applied = [](bool) {};
  if (counted) {
    st.correcting++;
    auto me = caf::actor_cast<caf::actor>(self);
    applied = [me](bool) { caf::anon_send(me, applied_atom::value); };
  }
  self->send(st.opt.directory, remote_atom::value, std::move(change), std::move(applied));
}

void maybe_trust(cluster_self* self) {
  auto& st = self->state;
  if (st.restore_trust && !st.syncing && st.correcting == 0) {
    st.restore_trust = false;
    st.opt.registry->set_trusted(true);
    spdlog::info("cluster: resynced; tokens are checked again");
  }
}

void apply_events(cluster_self* self, const json& events, bool counted) {
  auto presence = self->state.opt.presence->get();
  for (const auto& e : events) {
    if (!e.is_object()) {
      continue;
    }
    auto kind = text_of(e, "k");
    if (kind == "start") {
      to_user(self, started_of(e), counted);
    } else if (kind == "end") {
      to_user(self, ended_of(int_of(e, "u"), text_of(e, "s"), text_of(e, "r")), counted);
    } else if (kind == "join" || kind == "leave") {
      self->send(presence, remote_atom::value, presence_change{kind == "join", connection_of(e)});
    } else if (kind == "gone") {
      self->send(presence, gone_atom::value, text_of(e, "node"));
    } else if (kind == "msg") {
      self->send(presence, relay_atom::value, text_of(e, "to"), make_ws_text(text_of(e, "t")));
    }
  }
}

/// Handles held news in order, until a resync holds it again.
void drain(cluster_self* self) {
  auto& st = self->state;
  while (!st.syncing && !st.held.empty()) {
    auto item = std::move(st.held.front());
    st.held.pop_front();
    handle_item(self, std::move(item));
  }
  maybe_trust(self);
}

/// Memory may have missed a change: refuse tokens until a resync has run.
void distrust(cluster_self* self, const char* why) {
  spdlog::error("cluster: {}; tokens are refused until memory is resynced", why);
  self->state.opt.registry->set_trusted(false);
  start_sync(self, true);
}

void handle_item(cluster_self* self, news_item item) {
  // The listener has already replaced a large payload's reference by its row.
  try {
    apply_events(self, item.events, self->state.restore_trust);
  } catch (const std::exception& e) {
    distrust(self, e.what());
  }
}

/// Reads the truth from the tables. `restore`: memory is untrusted (the news
/// connection was lost), so news waits until the snapshot is applied, then
/// replays in order. Otherwise a periodic reconciliation: news flows on (a
/// kick must not wait for a read of 19,000 rows), and only corrections that
/// stay right however late they arrive are applied (see on_synced).
void start_sync(cluster_self* self, bool restore) {
  auto& st = self->state;
  if (!restore && (st.syncing || st.reconciling)) {
    return;
  }
  if (restore) {
    st.generation++;
    st.syncing = true;
    st.restore_trust = true;
  } else {
    st.reconciling = true;
  }
  auto me = caf::actor_cast<caf::actor>(self);
  auto gen = st.generation;
  auto* registry = st.opt.registry;
  bool queued = st.opt.db->try_submit(
    [me, gen, restore, registry](soci::session& sql) {
      // Memory first: a session it holds has its row committed already.
      std::vector<std::pair<std::int64_t, std::string>> known;
      registry->for_each([&](const live_session& s) { known.emplace_back(s.user_id, s.id); });
      std::vector<std::string> ids;
      std::unordered_map<std::string, std::int64_t> user_of;
      for (auto& [uid, sid] : known) {
        ids.push_back(sid);
        user_of[sid] = uid;
      }
      session_repository sessions(sql);
      cluster_snapshot snap;
      for (auto& [sid, reason] : sessions.ended_among(ids)) {
        snap.dead.push_back({user_of[sid], {sid, reason}});
      }
      snap.live = sessions.load_live();
      if (restore) {
        snap.connections = cluster_repository(sql).connections();
      }
      caf::anon_send(me, synced_atom::value, gen, restore, std::move(snap));
    },
    [me, gen, restore](const std::string& what) {
      spdlog::warn("cluster: cannot resync: {}", what);
      caf::anon_send(me, synced_atom::value, gen, restore);
    });
  if (!queued) {
    caf::anon_send(me, synced_atom::value, gen, restore);
  }
}

/// Applies a snapshot. Session corrections are safe even when stale: an end
/// is never undone, and a start of a session memory knows to have ended is
/// ignored by the user's actor. Presence is replaced only by a restoring
/// resync, whose news waited meanwhile (a stale view would undo later joins).
void on_synced(cluster_self* self, cluster_snapshot& snap, bool restore) {
  auto& st = self->state;
  auto* registry = st.opt.registry;
  std::size_t fixes = 0;
  for (auto& [uid, dead] : snap.dead) {
    if (registry->is_live(uid, dead.first)) {
      to_user(self, ended_of(uid, dead.first, dead.second), restore);
      ++fixes;
    }
  }
  for (auto& s : snap.live) {
    if (!registry->is_live(s.user_id, s.id) && !registry->is_dead(s.id)) {
      remote_change ch;
      ch.what = remote_change::kind::started;
      ch.session = std::move(s);
      to_user(self, std::move(ch), restore);
      ++fixes;
    }
  }
  if (fixes > 0) {
    spdlog::warn("cluster: {} corrected {} sessions in memory", restore ? "resync" : "reconciliation",
                 fixes);
  }
  if (!restore) {
    st.reconciling = false;
    return;
  }
  self->send(st.opt.presence->get(), remote_atom::value, std::move(snap.connections));
  st.republish = true; // the database may have lost or reaped our rows
  st.syncing = false;
  drain(self);
}

/// Writes this node's connection rows anew from presence's own list.
void republish(cluster_self* self) {
  auto& st = self->state;
  st.republish = false;
  auto* db = st.opt.db;
  auto me = caf::actor_cast<caf::actor>(self);
  self->request(st.opt.presence->get(), std::chrono::seconds{5}, local_atom::value)
    .then(
      [db, me](std::vector<cluster_connection>& rows) {
        db->try_submit(
          [rows](soci::session& sql) { cluster_repository(sql).replace_node(this_node_id(), rows); },
          [me](const std::string& what) {
            spdlog::warn("cluster: cannot publish this node's connections: {}", what);
            caf::anon_send(me, publish_atom::value);
          });
      },
      [me](caf::error&) { caf::anon_send(me, publish_atom::value); });
}

/// Publishes the joins, leaves and messages gathered since the last flush.
void flush(cluster_self* self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.changes.empty() && st.relays.empty()) {
    return;
  }
  st.last_flush = std::chrono::steady_clock::now();
  auto changes = std::move(st.changes);
  st.changes.clear();
  news_batch news;
  for (const auto& ch : changes) {
    news.add(event_of(ch));
  }
  for (auto& r : st.relays) {
    news.add(std::move(r));
  }
  st.relays = json::array();
  auto me = caf::actor_cast<caf::actor>(self);
  bool queued = st.opt.db->try_submit(
    [changes = std::move(changes), news = std::move(news)](soci::session& sql) mutable {
      cluster_repository(sql).apply(changes, news);
    },
    [me](const std::string& what) {
      // Lost rows heal by a full re-publish; lost messages are only logged.
      spdlog::warn("cluster: cannot publish presence: {}", what);
      caf::anon_send(me, publish_atom::value);
    },
    db_pool::wait::until_run);
  if (!queued) {
    st.republish = true;
  }
}

/// At most one presence batch per this long. A lone join, leave or message
/// leaves at once; a storm of them (a node's clients reconnecting) shares a
/// transaction and a notification per period instead of one each, which kept
/// every node's listener and cluster actor busy for seconds, kicks queued behind.
constexpr std::chrono::milliseconds flush_period{5};

void queue_flush(cluster_self* self) {
  auto& st = self->state;
  if (st.flush_queued) {
    return;
  }
  st.flush_queued = true;
  auto since = std::chrono::steady_clock::now() - st.last_flush;
  if (since >= flush_period) {
    self->send(self, flush_atom::value);
  } else {
    self->delayed_send(self, flush_period - since, flush_atom::value);
  }
}

/// The sessions requests touched here since the last scan (on the cluster's
/// database thread, never the actor's: 19,000 sessions take milliseconds that
/// news must not wait for). `seen` is the last scan's view, owned by that thread.
std::vector<std::pair<std::string, time_point>>
touched(const session_registry& registry, std::unordered_map<std::string, long long>& seen) {
  std::vector<std::pair<std::string, time_point>> out;
  std::unordered_map<std::string, long long> now_seen;
  registry.for_each([&](const live_session& s) {
    long long ms = s.last_seen_ms->load();
    auto it = seen.find(s.id);
    bool moved = it != seen.end() && ms > it->second + 1000;
    if (moved) {
      out.emplace_back(s.id, time_point{milliseconds{ms}});
    }
    now_seen[s.id] = it == seen.end() || moved ? ms : it->second;
  });
  seen = std::move(now_seen);
  return out;
}

void on_tick(cluster_self* self) {
  auto& st = self->state;
  st.ticks++;
  auto now = st.opt.clk->now();
  auto me = caf::actor_cast<caf::actor>(self);
  auto dead_before = now - st.opt.dead_after;
  auto address = st.opt.address;
  auto* registry = st.opt.registry;
  auto seen_ms = st.seen_ms;
  st.opt.db->try_submit(
    [me, now, dead_before, address, registry, seen_ms](soci::session& sql) {
      cluster_repository cluster(sql);
      if (!cluster.heartbeat(this_node_id(), now, address)) {
        caf::anon_send(me, publish_atom::value); // taken for dead, or new: re-publish
      }
      for (auto& id : cluster.reap(dead_before, this_node_id())) {
        spdlog::warn("cluster: node {} is silent; its connections left presence", id);
        // The others hear it as news; this node skips its own news: tell presence here.
        caf::anon_send(me, gone_atom::value, id);
      }
      session_repository(sql).touch(touched(*registry, *seen_ms));
      prune_news(sql, now - std::chrono::minutes{10});
    },
    [](const std::string& what) { spdlog::warn("cluster: heartbeat failed: {}", what); });
  if (st.republish) {
    republish(self);
  }
  auto every = std::max<long long>(1, st.opt.reconcile_every / st.opt.heartbeat_every);
  if (st.ticks % static_cast<std::uint64_t>(every) == 0 && !st.syncing) {
    start_sync(self, false);
  }
  self->delayed_send(self, st.opt.heartbeat_every, tick_atom::value);
}

caf::behavior cluster_actor(cluster_self* self, cluster_options opt) {
  self->state.opt = std::move(opt);
  self->send(self, tick_atom::value);
  return {
    [=](news_atom, const std::string& payload) {
      auto item = parse_news(payload);
      if (!item || item->origin == this_node_id()) {
        return;
      }
      auto& st = self->state;
      if (st.syncing || !st.held.empty()) {
        st.held.push_back(std::move(*item));
        return;
      }
      handle_item(self, std::move(*item));
    },
    [=](lost_atom, const std::string&) {
      auto& st = self->state;
      st.generation++; // a resync in flight is void
      st.syncing = false;
      st.held.clear();
      st.restore_trust = true;
    },
    [=](connected_atom) { start_sync(self, true); },
    [=](synced_atom, std::uint64_t gen, bool restore, cluster_snapshot& snap) {
      auto& st = self->state;
      if (!restore) {
        st.reconciling = false;
      }
      if (gen != st.generation) {
        return; // the news connection was lost since: a restoring resync follows
      }
      try {
        on_synced(self, snap, restore);
      } catch (const std::exception& e) {
        st.syncing = false;
        distrust(self, e.what());
      }
    },
    [=](synced_atom, std::uint64_t gen, bool restore) {
      auto& st = self->state;
      if (!restore) {
        st.reconciling = false; // the next tick tries again
        return;
      }
      if (gen != st.generation) {
        return;
      }
      // Could not read the tables: still untrusted; try again soon.
      st.syncing = false;
      self->delayed_send(self, milliseconds{500}, connected_atom::value);
    },
    [=](applied_atom) {
      self->state.correcting--;
      maybe_trust(self);
    },
    [=](publish_atom, presence_change& ch) {
      self->state.changes.push_back(std::move(ch));
      queue_flush(self);
    },
    [=](publish_atom) { self->state.republish = true; },
    [=](relay_atom, const std::string& to, const ws_text& text) {
      self->state.relays.push_back({{"k", "msg"}, {"to", to}, {"t", *text}});
      queue_flush(self);
    },
    [=](flush_atom) { flush(self); },
    [=](tick_atom) { on_tick(self); },
    [=](gone_atom, const std::string& node_id) {
      self->send(self->state.opt.presence->get(), gone_atom::value, node_id);
    },
  };
}

} // namespace

caf::actor spawn_cluster_actor(caf::actor_system& sys, cluster_options opt) {
  return sys.spawn(cluster_actor, std::move(opt));
}

void cluster_news_sink::on_news(std::string payload) {
  caf::anon_send(cluster_, news_atom::value, std::move(payload));
}

void cluster_news_sink::on_listening() {
  caf::anon_send(cluster_, connected_atom::value);
}

void cluster_news_sink::on_lost(const std::string& why) {
  registry_.set_trusted(false);
  caf::anon_send(cluster_, lost_atom::value, why);
}

} // namespace solod
