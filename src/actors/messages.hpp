#pragma once
/// @brief The atoms and message types the actors exchange.

#include "actors/ws_sink.hpp"
#include "storage/cluster_repository.hpp"
#include "storage/records.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace solod {

// -- atoms --------------------------------------------------------------------

using login_atom = caf::atom_constant<caf::atom("login")>;
using end_atom = caf::atom_constant<caf::atom("end")>;
using started_atom = caf::atom_constant<caf::atom("started")>;
using failed_atom = caf::atom_constant<caf::atom("failed")>;
using ended_atom = caf::atom_constant<caf::atom("ended")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using retire_atom = caf::atom_constant<caf::atom("retire")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using audit_atom = caf::atom_constant<caf::atom("audit")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using attach_atom = caf::atom_constant<caf::atom("attach")>;
using kick_atom = caf::atom_constant<caf::atom("kick")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using auth_atom = caf::atom_constant<caf::atom("auth")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using online_atom = caf::atom_constant<caf::atom("online")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using swept_atom = caf::atom_constant<caf::atom("swept")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using recovered_atom = caf::atom_constant<caf::atom("recovered")>;
using refused_atom = caf::atom_constant<caf::atom("refused")>;
using remote_atom = caf::atom_constant<caf::atom("remote")>;
using news_atom = caf::atom_constant<caf::atom("news")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;
using connected_atom = caf::atom_constant<caf::atom("connected")>;
using synced_atom = caf::atom_constant<caf::atom("synced")>;
using applied_atom = caf::atom_constant<caf::atom("applied")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using relay_atom = caf::atom_constant<caf::atom("relay")>;
using local_atom = caf::atom_constant<caf::atom("local")>;
using gone_atom = caf::atom_constant<caf::atom("gone")>;
/// Test hook only: honoured by an actor whose context has `test_hooks` set.
using fail_atom = caf::atom_constant<caf::atom("fail")>;
using checkpoint_atom = caf::atom_constant<caf::atom("checkpoint")>;

// -- session requests ---------------------------------------------------------

/// A login whose password has already been verified.
struct login_request {
  std::int64_t user_id = 0;
  std::string username;
  std::string ip;
  std::string user_agent;
};

/// What became of a login.
struct login_outcome {
  /// account_closed: disabled or erased while the login was under way.
  enum class status { ok, session_active, account_closed, unavailable };
  status result = status::unavailable;
  session_record session; ///< the new session when ok
};

/// Called once with the outcome, on an actor thread: it must only hand off.
using login_reply = std::function<void(const login_outcome&)>;

/// Why a session ends; the names are the SPEC's kick reasons.
enum class end_reason { superseded, logout, admin, expired };

/// The SPEC's name of `r` ("superseded", "logout", ...).
const char* to_string(end_reason r);

/// A request to end one session.
struct end_request {
  std::int64_t user_id = 0;
  std::string session_id;
  end_reason reason = end_reason::logout;
  std::string ip;         ///< who asked, for the audit row
  std::string user_agent;
};

/// Called once: true if the session was live and is now ended (and audited).
using end_reply = std::function<void(bool ended)>;

/// A change another node made to a user's session, heard through the news
/// (or found by a resync): applied in memory only, since that node wrote the
/// row and the audit.
struct remote_change {
  enum class kind { started, ended };
  kind what = kind::ended;
  session_record session; ///< started: the new session; ended: its user_id and id
  std::string old_id;     ///< started: the session it ended ("" if none)
  std::string reason;     ///< ended: the row's end_reason
};

/// Called once: true when the user's actor applied a remote change, false
/// when it failed first (it then dropped the user's session from memory).
using applied_reply = end_reply; // same signature: one message type for CAF

// -- connections ----------------------------------------------------------------

/// A WebSocket connection asking to join its session.
struct attach_request {
  std::int64_t user_id = 0;
  std::string session_id;
  std::string connection_id;
  caf::actor connection;
};

/// The user actor's answer to an attach.
enum class attach_status { ok, not_live, too_many };

/// Why a connection is told to go: a session end, or one of the connection's own.
enum class kick_reason {
  superseded,
  logout,
  admin,
  expired,
  unauthorized,
  too_many_connections,
  server_error ///< an actor of the session failed: the connection closes with 1011
};

/// The SPEC's reason text of `r`.
const char* to_string(kick_reason r);

/// The WebSocket close code of `r` (4001, 4002, 4003, 4004, 4401, 4429, 1011).
std::uint16_t close_code_of(kick_reason r);

/// The kick that a session end causes.
kick_reason kick_reason_of(end_reason r);

// -- test hooks -------------------------------------------------------------------

/// Where a user actor throws when a test injects a failure (`fail_atom`).
enum class fail_point {
  now,           ///< at once, in the handler of the fail message
  next_started   ///< when the next login's row is written, before memory learns of it
};

} // namespace solod

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::fail_point)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<solod::ws_sink>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::ws_text)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::attach_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::attach_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::kick_reason)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::login_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::login_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::login_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::end_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::end_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::remote_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::cluster_connection)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::presence_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<solod::cluster_connection>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::end_reason)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::audit_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::session_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<solod::session_record>)
