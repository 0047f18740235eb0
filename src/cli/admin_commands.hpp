#pragma once
/// @brief The offline subcommands: user management, migrate, audit export and verification.

#include "cli/command_line.hpp"
#include "config/config.hpp"

#include <iosfwd>

namespace solod {

/// Runs one offline subcommand against the configured database; returns the
/// exit code (0 ok, 1 failure, 2 bad input). Messages go to `err`, results to `out`.
/// `env` may hold SOLOD_DATABASE_PASSWORD.
int run_admin_command(const config& cfg, const environment& env, const command_line& cmd,
                      std::istream& in, std::ostream& out, std::ostream& err);

} // namespace solod
