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
/// - `(fail_atom)`, `(fail_atom, user_id, fail_point)`, `(fail_atom, fail_point)`:
///   test hooks, ignored unless `ctx->test_hooks`: the directory, the user's
///   actor, or every user actor throws.
///
/// Failing closed: replies are wrapped by answer_once, so a login whose user
/// actor fails before answering hears `unavailable` and an end hears false,
/// never nothing. When a user actor fails, the directory drops the user's
/// session from the registry, counts `solod_actor_failures_total{actor="user"}`
/// and gives the user a fresh actor that first ends, in the database, what
/// the failed one left live (see spawn_user_actor). The directory itself is
/// the root of the session tree: if it fails, its user actors end with it and
/// drop their sessions, and the server shuts down (exit 1) to be restarted,
/// rebuilding memory from the database.
caf::actor spawn_session_directory(caf::actor_system& sys, const user_context* ctx);

} // namespace solod
