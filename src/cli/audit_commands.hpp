#pragma once
/// @brief `solod audit verify`, `verify-report`, `pubkey` and `export --with-proof`:
/// the tamper-evident audit log from the command line.

#include "cli/command_line.hpp"
#include "config/config.hpp"

#include <iosfwd>

namespace soci {
class session;
}

namespace solod {

/// True for the audit subcommands that need no database (`pubkey`, `verify-report`).
bool is_offline_audit_command(const command_line& cmd);

/// Runs `pubkey` or `verify-report`; returns the exit code (0 ok or intact,
/// 1 broken or failed, 2 bad input).
int run_offline_audit_command(const config& cfg, const command_line& cmd, std::ostream& out, std::ostream& err);

/// `audit verify`: 0 intact, 1 broken (the first broken row named), 2 bad input.
int audit_verify(soci::session& sql, const config& cfg, const command_line& cmd, std::ostream& out,
                 std::ostream& err);

/// `audit export --with-proof`: signs a checkpoint now and writes the report.
int audit_export_with_proof(soci::session& sql, const config& cfg, const command_line& cmd, std::ostream& out,
                            std::ostream& err);

} // namespace solod
