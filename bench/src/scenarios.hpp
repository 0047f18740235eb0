#pragma once
/// @brief The subcommands of solod-bench: `seed` and the seven scenarios of issue #4.
///
/// Each takes the arguments after its name, prints a small table and exactly
/// one `RESULT {json}` line, and returns the exit code (0 ok, 1 the run
/// failed, 2 bad command line).

#include <string>
#include <vector>

namespace bench {

using arguments = std::vector<std::string>;

/// Writes users, live sessions and their tokens straight into a stopped solod's SQLite database.
int run_seed(const arguments& args);

/// Password logins/s against the raw Argon2id verify rate on the same cores.
int run_logins(const arguments& args);

/// WebSocket connect + token auth + welcome per second.
int run_connect(const arguments& args);

/// N idle authenticated connections; server RSS per connection.
int run_hold(const arguments& args);

/// Re-logins with N connections live: time from the login response to the old connection's close.
int run_kick(const arguments& args);

/// Ping/pong round trips per second across many connections.
int run_ping(const arguments& args);

/// Presence fan-out: N users connect while S subscribers watch; N against 2N.
int run_presence(const arguments& args);

/// The raw OpenSSL handshake rate over loopback with solod's TLS context, no solod (issue 12).
int run_handshake(const arguments& args);

/// One idle TLS connection's OpenSSL state by allocation site, and per connection in all (issue 12).
int run_tls_memory(const arguments& args);

/// Audit actor events/s on SQLite, and login latency with durability commit against async.
int run_audit(const arguments& args);

/// Not a scenario: a run's RESULT lines (JSON lines) as a markdown table against the targets.
int run_summary(const arguments& args);

} // namespace bench
