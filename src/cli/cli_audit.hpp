#pragma once
/// @brief The CLI's own audit rows: written directly (no server needs to run),
/// stamped with the configured legal basis like the server's.

#include "config/config.hpp"
#include "storage/records.hpp"

#include <cstddef>
#include <string>

namespace soci {
class session;
}

namespace solod {

/// Records what the CLI did as an `admin_action` row about `user`, in its own transaction.
void audit_cli_action(soci::session& sql, const legal_basis_config& bases, const user_record& user,
                      const std::string& what);

/// Ends the user's live session (reason `admin`), audits it and, through the
/// news in the same transaction, makes every running node kick its
/// connections (4003) at once. Returns how many sessions it ended.
std::size_t end_sessions_of(soci::session& sql, const legal_basis_config& bases, const user_record& user);

} // namespace solod
