#pragma once
/// @brief The user actor: owns one user's single live session.

#include "actors/user_context.hpp"

#include <caf/fwd.hpp>

#include <cstdint>

namespace solod {

/// Spawns the actor of user `user_id`. It serializes every change to the
/// user's session: a new login ends the previous session (`superseded`) or is
/// refused (`deny_new`); logout, admin and expiry end it. It writes the change
/// to the database, then to the session registry, then audits it, and only
/// then answers. It asks `directory` to retire it after `retire_after` without
/// a session.
///
/// Messages (sent by the directory):
/// - `(login_atom, login_request, login_reply)`
/// - `(end_atom, end_request, end_reply)`
/// - `(restore_atom, session_record)`: adopt a live session read at start-up.
caf::actor spawn_user_actor(caf::actor_system& sys, const user_context* ctx,
                            std::int64_t user_id, caf::actor directory);

} // namespace solod
