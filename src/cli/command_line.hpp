#pragma once
/// @brief Parsing solod's command line (SPEC §1): the server, or one subcommand.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace solod {

/// A command line that makes no sense; main prints it with the usage, exit 2.
class usage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// What the user asked for.
struct command_line {
  /// serve, help, version, user_add, user_passwd, user_disable, user_enable,
  /// user_import, user_attr, user_export, user_erase, migrate, audit_export,
  /// audit_verify, audit_verify_report, audit_pubkey, session_export, config_check
  std::string command = "serve";
  std::string config_file;   ///< --config FILE (anywhere)
  std::string name;          ///< the user for user subcommands
  bool admin = false;        ///< --admin
  std::optional<std::string> full_name, email; ///< --full-name, --email
  bool password_stdin = false;
  std::string from, to, user; ///< audit and session export filters
  std::string ip, reason;     ///< session export filters
  std::string active;         ///< session export: "", "true" (live) or "false" (ended)
  std::string format = "csv";
  bool format_given = false;  ///< --format was on the command line
  // -- user import (SPEC §9)
  std::string file;                            ///< the file to import (or the report to verify)
  std::optional<std::uint64_t> pbkdf2_iterations; ///< --pbkdf2-iterations N
  std::string salt_encoding = "hex";           ///< --salt-encoding hex|utf8
  bool dry_run = false;                        ///< --dry-run
  // -- user attr NAME [KEY [VALUE]]
  std::optional<std::string> attr_key, attr_value;
  std::string attr_type;      ///< --type (empty: keep the attribute's, else string)
  bool attr_delete = false;   ///< --delete
  // -- audit
  bool with_proof = false;           ///< audit export --with-proof
  std::vector<std::string> pubkeys;  ///< --pubkey KEY (repeatable): keys audit verify trusts
};

/// Parses `args` (without the program name). Throws usage_error.
command_line parse_command_line(const std::vector<std::string>& args);

/// The text of `solod --help`.
std::string usage_text();

} // namespace solod
