#pragma once
/// @brief The presence actor: who is online, the connections to reach them, and live updates.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace solod {

class actor_slot;
class online_board;
struct metrics;

/// The presence actor's links to the rest of the cluster; both optional.
struct presence_links {
  /// The cluster actor: hears this node's joins and leaves, and messages for
  /// users connected to other nodes.
  caf::actor cluster;
  /// Kept equal to the cluster-wide set of online users, for /api/online.
  online_board* board = nullptr;
};

/// Spawns the presence actor. It knows every authenticated connection (by
/// user) and every presence subscriber. A user is online while any of its
/// connections is. Changes are serialized once and delivered in batches: a
/// flush queued behind the mailbox sends every change that arrived meanwhile
/// to each subscriber with one hand-off, so a mass connect costs O(changes ×
/// subscribers), never O(online²), and no change is dropped.
///
/// Presence covers the cluster: the cluster actor feeds it the other nodes'
/// connections, and a user is online while connected to any node.
///
/// Messages:
/// - `(join_atom, cluster_connection, std::shared_ptr<ws_sink>)`, or
///   `(join_atom, user_id, username, connection_id, std::shared_ptr<ws_sink>)`
/// - `(leave_atom, user_id, connection_id)`
/// - `(subscribe_atom, connection_id, std::shared_ptr<ws_sink>)`: sends
///   `subscribed` through the sink once in force; every later change follows
/// - `(online_atom)` -> `std::vector<std::string>` usernames, sorted
/// - `(deliver_atom, to_username, ws_text)` -> `bool` (false: `to` not online);
///   an empty `to` broadcasts to every connection
/// - `(remote_atom, presence_change)`: a connection of another node came or went
/// - `(gone_atom, node_id)`: another node died; its connections are gone
/// - `(remote_atom, std::vector<cluster_connection>)`: every connection of the
///   other nodes (a resync); replaces what was known of them
/// - `(relay_atom, to_username, ws_text)`: a message sent on another node,
///   for this node's connections (`to` empty: all of them)
/// - `(local_atom)` -> `std::vector<cluster_connection>`: this node's connections
/// - `(fail_atom)`: test hook, ignored unless `test_hooks`: the actor throws.
///
/// Failing closed: if a handler throws, the actor closes every connection it
/// knows with `kicked` `server_error` and 1011 (their presence and their
/// subscriptions are lost; the clients reconnect) before it ends.
caf::actor spawn_presence_actor(caf::actor_system& sys, metrics* stats, bool test_hooks = false,
                                presence_links links = {});

/// Spawns a presence actor into `slot` and keeps one there: when it fails, it
/// is counted (`solod_actor_failures_total{actor="presence"}`) and a fresh,
/// empty one takes its place, so new connections find presence working. It is
/// not restarted after a normal end or the server's shutdown (`user_shutdown`).
/// `slot` must outlive the actor system.
void supervise_presence(caf::actor_system& sys, metrics* stats, actor_slot& slot,
                        bool test_hooks = false, presence_links links = {});

} // namespace solod
