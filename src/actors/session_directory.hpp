#pragma once
/// @brief The session directory: maps user ids to user actors, spawning and retiring them.

#include "actors/user_context.hpp"

#include <caf/fwd.hpp>

namespace solod {

/// Spawns the directory. It routes every session request to the user's actor,
/// spawning it on demand; a user actor that has been idle asks to retire, and
/// the directory agrees only if every message it forwarded has been handled,
/// so no request is ever lost to a retiring actor.
///
/// Messages:
/// - `(login_atom, login_request, login_reply)`, `(end_atom, end_request, end_reply)`,
///   `(restore_atom, session_record)`: routed to the user's actor.
/// - `(retire_atom, user_id, handled)` -> bool: from a user actor.
/// - `(count_atom)` -> std::size_t: user actors alive (for tests and metrics).
caf::actor spawn_session_directory(caf::actor_system& sys, const user_context* ctx);

} // namespace solod
