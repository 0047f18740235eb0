#pragma once
/// @brief solod's configuration: SPEC §2 keys, loaded from TOML with SOLOD_<SECTION>_<KEY> overrides.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace solod {

/// A configuration that cannot be used; `what()` names the key or file.
class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

enum class tls_mode { auto_detect, required, off };
enum class session_policy { kick_old, deny_new };
enum class audit_durability { commit, async };
enum class log_format { text, json };

/// [server]
struct server_config {
  std::string listen = "127.0.0.1:8443";
  tls_mode tls = tls_mode::auto_detect;
  std::string cert_file;
  std::string key_file;
  int threads = 0;                          ///< 0 = one per core
  std::vector<std::string> allowed_origins; ///< empty = same host as Host header
  std::vector<std::string> trusted_proxies; ///< CIDR list
  int max_connections = 20000;
  int max_connections_per_ip = 256;         ///< open connections one address (IPv6: one /64) may hold
  std::size_t max_body_bytes = 16384;
  std::string static_dir = "web";
  /// Longest wait for a request's header block (also between requests on a kept-alive connection).
  std::chrono::milliseconds header_timeout = std::chrono::seconds{10};
  /// Longest TLS handshake, and longest WebSocket upgrade handshake.
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds{10};
  /// A silent WebSocket is pinged after half of this and closed after all of it.
  std::chrono::milliseconds ws_idle_timeout = std::chrono::seconds{60};

  bool operator==(const server_config&) const = default;
};

/// [auth]
struct auth_config {
  std::string jwt_secret_file;
  std::chrono::milliseconds token_ttl = std::chrono::hours{24};
  session_policy policy = session_policy::kick_old;
  std::chrono::milliseconds idle_timeout = std::chrono::minutes{30};
  bool allow_registration = true;
  int max_connections_per_session = 3;

  bool operator==(const auth_config&) const = default;
};

/// [limits]
struct limits_config {
  int login_per_ip_per_minute = 30;
  int lockout_threshold = 5;
  std::chrono::milliseconds lockout_window = std::chrono::minutes{15};
  std::chrono::milliseconds lockout_duration = std::chrono::minutes{15};
  int ws_messages_per_second = 20;
  std::size_t max_message_bytes = 65536;
  int register_per_ip_per_minute = 10;       ///< registrations one address (IPv6: one /64) may make
  /// Text bytes one user may broadcast (`message` without `to`) per second; each
  /// recipient gets them all, so this bounds what one sender can queue for any peer.
  int broadcast_bytes_per_second = 16384;

  bool operator==(const limits_config&) const = default;
};

/// [socketio]: Engine.IO's timings and sizes for `/socket.io/`, at Flask-SocketIO's defaults.
struct socketio_config {
  /// The server pings every Socket.IO client this often (Engine.IO pingInterval).
  std::chrono::milliseconds ping_interval = std::chrono::seconds{25};
  /// A client that has not answered a ping within this is closed (Engine.IO pingTimeout).
  std::chrono::milliseconds ping_timeout = std::chrono::seconds{20};
  /// Largest HTTP long-polling body either side sends, in bytes (Engine.IO maxPayload).
  std::size_t max_payload = 1'000'000;

  bool operator==(const socketio_config&) const = default;
};

/// [database]
struct database_config {
  std::string url = "sqlite3://data/solod.db";
  /// A file holding the PostgreSQL password (SOLOD_DATABASE_PASSWORD wins), so none sits in the URL.
  std::string password_file;
  /// Threads of the database pool, each with its own connection.
  int pool_size = 2;
  /// Longest a request waits for a database connection before it is answered 503.
  std::chrono::milliseconds wait_timeout = std::chrono::seconds{2};

  bool operator==(const database_config&) const = default;
};

/// [audit]
struct audit_config {
  audit_durability durability = audit_durability::commit;
  int batch_max = 512;
  std::chrono::milliseconds flush_interval = std::chrono::milliseconds{10};
  int retention_days = 730;
  /// How often the chain's head is signed as a checkpoint (and at shutdown).
  std::chrono::milliseconds checkpoint_interval = std::chrono::seconds{60};
  /// The Ed25519 key that signs checkpoints; empty: `data_dir/audit_signing.key`,
  /// made on first start (mode 0600).
  std::string signing_key_file;
  /// Public keys of other nodes' checkpoints `solod audit verify` accepts besides this node's own.
  std::vector<std::string> trusted_keys;

  bool operator==(const audit_config&) const = default;
};

/// [log]
struct log_config {
  std::string dir = "logs";
  std::string level = "info"; ///< trace, debug, info, warn, error, critical, off
  int max_file_mb = 10;
  int max_files = 5;
  log_format format = log_format::text;

  bool operator==(const log_config&) const = default;
};

/// One client of the session API (`POST /api/introspect`), by HTTP Basic.
struct service_client {
  std::string id;          ///< the Basic user name: 1-64 of A-Z a-z 0-9 _ . -
  std::string secret_file; ///< its secret, the file's content (trailing newlines dropped)

  bool operator==(const service_client&) const = default;
};

/// [services]: the team's other backends that may ask solod about sessions.
struct services_config {
  std::vector<service_client> clients; ///< `[[services.clients]]`

  bool operator==(const services_config&) const = default;
};

/// One receiver of outgoing webhooks (Standard Webhooks).
struct webhook_endpoint {
  std::string url;                 ///< http:// or https://
  std::string secret_file;         ///< `whsec_` + base64 of the signing key
  std::vector<std::string> events; ///< the event types it gets; empty: all

  bool operator==(const webhook_endpoint&) const = default;
};

/// [webhooks]
struct webhooks_config {
  std::vector<webhook_endpoint> endpoints; ///< `[[webhooks.endpoints]]`
  /// Longest wait for one delivery's answer.
  std::chrono::milliseconds timeout = std::chrono::seconds{10};
  /// How long an undelivered event is retried (with backoff) before it is given up.
  std::chrono::milliseconds retry_for = std::chrono::hours{24};

  bool operator==(const webhooks_config&) const = default;
};

/// [legal_basis]: the GDPR art. 6 / KVKK art. 5 ground on which each kind of
/// record is kept; stamped on each row when it is written.
struct legal_basis_config {
  std::string register_event = "legal_obligation";
  std::string login_success = "legal_obligation";
  std::string login_failure = "legal_obligation";
  std::string logout = "legal_obligation";
  std::string session_superseded = "legal_obligation";
  std::string session_terminated = "legal_obligation";
  std::string session_expired = "legal_obligation";
  std::string account_locked = "legal_obligation";
  std::string ws_auth_failure = "legal_obligation";
  std::string admin_action = "legal_obligation";
  std::string sessions = "legal_obligation"; ///< rows of `sessions`

  /// The basis of audit rows of `event_type` (legal_obligation for a type without a key).
  const std::string& of(std::string_view event_type) const;
  /// Every key and its basis, in SPEC order (for the data-subject export).
  std::vector<std::pair<std::string, std::string>> all() const;

  bool operator==(const legal_basis_config&) const = default;
};

/// The whole effective configuration.
struct config {
  server_config server;
  auth_config auth;
  limits_config limits;
  socketio_config socketio;
  database_config database;
  audit_config audit;
  log_config log;
  services_config services;
  webhooks_config webhooks;
  legal_basis_config legal_basis;
  /// Where data/ lives (secrets, certificate); the directory of relative paths.
  std::string data_dir = "data";

  bool operator==(const config&) const = default;
};

/// Environment variables as a map, so tests can pass their own.
using environment = std::map<std::string, std::string>;

/// The process environment.
environment process_environment();

/// Loads the configuration: defaults, then `path` (if given; when `path` is
/// empty, `config/solod.toml` is read if it exists), then `SOLOD_<SECTION>_<KEY>`
/// overrides from `env`. Throws `config_error` naming the key or file.
config load_config(const std::string& path, const environment& env);

/// Parses a duration such as "10ms", "5s", "30m", "24h", "7d"; nothing if malformed.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

/// Formats a duration the way the config file writes it ("24h", "10ms").
std::string format_duration(std::chrono::milliseconds d);

/// The effective configuration as TOML (for `solod config check`).
std::string render_config(const config& cfg);

} // namespace solod
