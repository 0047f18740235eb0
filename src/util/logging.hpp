#pragma once
/// @brief spdlog set-up: console plus rotating files, as text or JSON lines.

#include "config/config.hpp"

namespace solod {

/// Installs the default logger per `[log]`: console and `dir/solod.log`
/// rotating at `max_file_mb` × `max_files`, UTC timestamps. Throws
/// config_error when the directory cannot be created or the level is unknown.
void setup_logging(const log_config& cfg);

/// Console only, for the CLI subcommands (warnings and errors to stderr).
void setup_cli_logging();

} // namespace solod
