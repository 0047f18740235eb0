#pragma once
/// @brief The user actor: owns one user's single live session.

#include "actors/user_context.hpp"

#include <caf/fwd.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

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
/// - `(attach_atom, attach_request)` -> `(attach_status, caf::actor self)`.
/// - `(recover_atom)`: the user's previous actor failed; end whatever sessions
///   of the user the database still has live (reason `server_error`, audited
///   `session_terminated`), once every job counted in `db_jobs` has run.
/// - `(fail_atom, fail_point)`: test hook, ignored unless `ctx->test_hooks`.
///
/// Failing closed: if a handler throws, the actor drops the user's session
/// from the registry before it ends; its connections watch it and close with
/// 1011; the directory counts the failure and spawns a successor that recovers.
/// `db_jobs` counts the user's database jobs still running; the directory
/// hands the same counter to the successor.
caf::actor spawn_user_actor(caf::actor_system& sys, const user_context* ctx,
                            std::int64_t user_id, caf::actor directory,
                            std::shared_ptr<std::atomic<int>> db_jobs = nullptr);

} // namespace solod
