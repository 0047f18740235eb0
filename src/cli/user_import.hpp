#pragma once
/// @brief `solod user import FILE` (SPEC §9): users come in with their password hashes.

#include "cli/command_line.hpp"

#include <iosfwd>

namespace soci {
class session;
}

namespace solod {

/// Reads `cmd.file`, checks every row (username, hash format and cost
/// bounds, flags, timestamps, attributes) and, when all are well-formed,
/// inserts the new users and their attributes in one transaction; existing
/// usernames are skipped and listed. `--dry-run` does everything but commit.
/// Returns the exit code: 0 imported (counts on `out`), 1 malformed rows
/// (each on `err` with its line; nothing imported), 2 an unreadable file or
/// bad options. No hash is ever written to `out` or `err`.
int run_user_import(soci::session& sql, const command_line& cmd, std::ostream& out,
                    std::ostream& err);

} // namespace solod
