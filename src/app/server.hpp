#pragma once
/// @brief The solod daemon: wires storage, actors, auth and the network together and runs them.

#include "config/config.hpp"

namespace solod {

/// Runs the server until SIGINT/SIGTERM; returns the process exit code
/// (0 after a clean shutdown, 1 when start-up fails, 2 for a config error).
int run_server(const config& cfg, const environment& env);

} // namespace solod
