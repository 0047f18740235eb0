#pragma once
/// @brief The atoms and message types the actors exchange.

#include "storage/records.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <cstdint>
#include <functional>
#include <string>

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
  enum class status { ok, session_active, unavailable };
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

} // namespace solod

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::login_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::login_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::login_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::end_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::end_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::end_reason)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::audit_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(solod::session_record)
