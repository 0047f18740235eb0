#pragma once
/// @brief Parsing solod's command line (SPEC §1): the server, or one subcommand.

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
  /// migrate, audit_export, config_check
  std::string command = "serve";
  std::string config_file;   ///< --config FILE (anywhere)
  std::string name;          ///< the user for user subcommands
  bool admin = false;        ///< --admin
  std::optional<std::string> full_name, email; ///< --full-name, --email
  bool password_stdin = false;
  std::string from, to, user; ///< audit export filters
  std::string format = "csv";
};

/// Parses `args` (without the program name). Throws usage_error.
command_line parse_command_line(const std::vector<std::string>& args);

/// The text of `solod --help`.
std::string usage_text();

} // namespace solod
