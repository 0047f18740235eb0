#pragma once
/// @brief The cluster actor: this node's link to the others through the shared database.

#include "storage/news_listener.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <string>

namespace solod {

class actor_slot;
class clock;
class db_pool;
class session_registry;

/// What the cluster actor works with; owned by the server, outlives it.
struct cluster_options {
  db_pool* db = nullptr;
  session_registry* registry = nullptr;
  const clock* clk = nullptr;
  caf::actor directory;
  const actor_slot* presence = nullptr;
  std::string address; ///< this node's listen address, shown to admins
  std::chrono::milliseconds heartbeat_every{5000};
  std::chrono::milliseconds dead_after{20000}; ///< a node silent this long is gone
  std::chrono::milliseconds reconcile_every{30000}; ///< the safety net (SPEC: <= 30 s)
};

/// Spawns the cluster actor. It applies the other nodes' news (see
/// news_batch) to this node: session starts and ends go to the users' actors
/// (which kick local connections), connections and messages to presence.
/// It publishes this node's joins, leaves and messages for users connected
/// elsewhere (one transaction and one NOTIFY per batch), heartbeats the
/// node, reaps dead nodes and stamps `last_seen` of the sessions served here.
///
/// Nothing trusted after a gap: when the news connection is lost, the sink
/// marks the registry untrusted at once (tokens answer 503); once listening
/// again, the actor re-reads the live sessions and the connections, corrects
/// memory, replays the news that arrived meanwhile, and trusts the registry
/// only when every user actor has applied its correction. A lighter resync
/// (sessions only, news not held) runs every `reconcile_every` as a safety net.
///
/// Messages: `(news_atom, payload)`, `(lost_atom, why)`, `(connected_atom)`
/// (from the sink); `(publish_atom, presence_change)`, `(relay_atom, to,
/// ws_text)` (from presence).
caf::actor spawn_cluster_actor(caf::actor_system& sys, cluster_options opt);

/// Hands the listener's callbacks to the cluster actor. On a loss it marks
/// the registry untrusted itself, on the listener's thread, so that not one
/// token is accepted after the connection is known dead.
class cluster_news_sink final : public news_sink {
public:
  cluster_news_sink(caf::actor cluster, session_registry& registry)
    : cluster_(std::move(cluster)), registry_(registry) {}

  void on_news(std::string payload) override;
  void on_listening() override;
  void on_lost(const std::string& why) override;

private:
  caf::actor cluster_;
  session_registry& registry_;
};

} // namespace solod
