#pragma once
/// @brief The presence actor: who is online, the connections to reach them, and live updates.

#include <caf/fwd.hpp>

namespace solod {

struct metrics;

/// Spawns the presence actor. It knows every authenticated connection (by
/// user) and every presence subscriber. A user is online while any of its
/// connections is. Changes are serialized once and delivered in batches: a
/// flush queued behind the mailbox sends every change that arrived meanwhile
/// to each subscriber with one hand-off, so a mass connect costs O(changes ×
/// subscribers), never O(online²), and no change is dropped.
///
/// Messages:
/// - `(join_atom, user_id, username, connection_id, std::shared_ptr<ws_sink>)`
/// - `(leave_atom, user_id, connection_id)`
/// - `(subscribe_atom, connection_id, std::shared_ptr<ws_sink>)`: sends
///   `subscribed` through the sink once in force; every later change follows
/// - `(online_atom)` -> `std::vector<std::string>` usernames, sorted
/// - `(deliver_atom, to_username, ws_text)` -> `bool` (false: `to` not online);
///   an empty `to` broadcasts to every connection
caf::actor spawn_presence_actor(caf::actor_system& sys, metrics* stats);

} // namespace solod
