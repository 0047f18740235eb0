#pragma once
/// @brief The CLI twins of the admin page's session history and data-subject
/// rights: `solod session export`, `solod user export NAME`, `solod user erase NAME`.

#include "cli/command_line.hpp"
#include "config/config.hpp"

#include <iosfwd>

namespace soci {
class session;
}

namespace solod {

/// `session export`: the session history as CSV or JSON on `out`; exit code.
int session_export(soci::session& sql, const command_line& cmd, std::ostream& out, std::ostream& err);

/// `user export NAME` (the JSON document) or `user erase NAME` (ends the
/// session on every node, erases, audits; prints the result); exit code.
int subject_command(const config& cfg, soci::session& sql, const command_line& cmd, std::ostream& out,
                    std::ostream& err);

} // namespace solod
