// Tests for src/config/config.*: defaults, the shipped config file, TOML and
// environment loading, every rejection path, durations and render_config.
#include "config/config.hpp"

#include <catch2/catch.hpp>
#include "config/toml.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using solod::config;
using solod::config_error;
using solod::environment;
using solod::load_config;

namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed with everything in it.
struct temp_dir {
  fs::path path;

  temp_dir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("solod_config_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Writes `content` to `name` inside the directory and returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const fs::path file = path / name;
    fs::create_directories(file.parent_path());
    std::ofstream out{file, std::ios::binary};
    out << content;
    return file.string();
  }
};

/// Switches the current directory for one scope, so the default path can be tested.
struct current_dir_guard {
  fs::path saved = fs::current_path();
  explicit current_dir_guard(const fs::path& dir) { fs::current_path(dir); }
  ~current_dir_guard() {
    std::error_code ec;
    fs::current_path(saved, ec);
  }
};

std::string shipped_config_path() {
#ifdef SOLOD_SOURCE_DIR
  return std::string{SOLOD_SOURCE_DIR} + "/config/solod.toml";
#else
  return "config/solod.toml";
#endif
}

/// Loads `toml` written to a temporary file, with `env` as the environment.
config load_text(const std::string& toml, const environment& env = {}) {
  temp_dir dir;
  return load_config(dir.write("solod.toml", toml), env);
}

/// The message of the config_error that loading `toml` (and `env`) throws; fails the test otherwise.
std::string error_of(const std::string& toml, const environment& env = {}) {
  try {
    load_text(toml, env);
  } catch (const config_error& e) {
    return e.what();
  }
  FAIL("no config_error for:\n" << toml);
  return {};
}

/// The message of the config_error that the environment `env` alone causes.
std::string env_error_of(const environment& env) {
  try {
    load_text("", env);
  } catch (const config_error& e) {
    return e.what();
  }
  FAIL("no config_error for the environment");
  return {};
}

/// Every "section.key" of a TOML document, for comparing which keys two documents have.
std::set<std::string> key_names(const toml::table& root) {
  std::set<std::string> names;
  for (const auto& [section, node] : root) {
    if (const auto* table = node.as_table()) {
      for (const auto& [key, value] : *table) {
        names.insert(std::string{section.str()} + "." + std::string{key.str()});
      }
    }
  }
  return names;
}

/// A config with every key different from its default, written by hand.
config all_changed() {
  config c;
  c.server.listen = "[::1]:9000";
  c.server.tls = solod::tls_mode::required;
  c.server.cert_file = "/etc/solod/cert.pem";
  c.server.key_file = "/etc/solod/key.pem";
  c.server.threads = 4;
  c.server.allowed_origins = {"https://chat.example.com", "https://admin.example.com"};
  c.server.trusted_proxies = {"10.0.0.0/8", "fd00::/8", "192.168.1.1"};
  c.server.max_connections = 100;
  c.server.max_connections_per_ip = 50;
  c.server.max_body_bytes = 2048;
  c.server.static_dir = "/srv/web";
  c.server.header_timeout = 5s;
  c.server.handshake_timeout = 3s;
  c.server.ws_idle_timeout = 2min;
  c.auth.jwt_secret_file = "/run/secrets/jwt";
  c.auth.token_ttl = 8h;
  c.auth.policy = solod::session_policy::deny_new;
  c.auth.idle_timeout = 90s;
  c.auth.allow_registration = false;
  c.auth.max_connections_per_session = 7;
  c.limits.login_per_ip_per_minute = 60;
  c.limits.lockout_threshold = 3;
  c.limits.lockout_window = 10min;
  c.limits.lockout_duration = 1h;
  c.limits.ws_messages_per_second = 50;
  c.limits.max_message_bytes = 1024;
  c.limits.register_per_ip_per_minute = 4;
  c.limits.broadcast_bytes_per_second = 4096;
  c.database.url = "postgresql://solod:pw@db:5432/solod";
  c.database.wait_timeout = 500ms;
  c.database.password_file = "/run/secrets/db";
  c.database.pool_size = 8;
  c.audit.durability = solod::audit_durability::async;
  c.audit.batch_max = 1000;
  c.audit.flush_interval = 250ms;
  c.audit.retention_days = 365;
  c.socketio.ping_interval = std::chrono::seconds{10};
  c.socketio.ping_timeout = std::chrono::seconds{5};
  c.socketio.max_payload = 200000;
  c.log.dir = "/var/log/solod";
  c.log.level = "debug";
  c.log.max_file_mb = 50;
  c.log.max_files = 10;
  c.log.format = solod::log_format::json;
  c.services.clients = {{"billing", "/run/secrets/billing"}, {"api.v2", "/run/secrets/api"}};
  c.webhooks.endpoints = {{"https://hooks.example.com/solod", "/run/secrets/hook", {"session.started", "session.ended"}},
                          {"http://127.0.0.1:9000/", "/run/secrets/hook2", {}}};
  c.webhooks.timeout = 3s;
  c.webhooks.retry_for = 2h;
  return c;
}

const char* const all_changed_toml = R"(
[server]
listen = "[::1]:9000"
tls = "required"
cert_file = "/etc/solod/cert.pem"
key_file = "/etc/solod/key.pem"
threads = 4
allowed_origins = ["https://chat.example.com", "https://admin.example.com"]
trusted_proxies = ["10.0.0.0/8", "fd00::/8", "192.168.1.1"]
max_connections = 100
max_connections_per_ip = 50
max_body_bytes = 2048
static_dir = "/srv/web"
header_timeout = "5s"
handshake_timeout = "3s"
ws_idle_timeout = "2m"

[auth]
jwt_secret_file = "/run/secrets/jwt"
token_ttl = "8h"
session_policy = "deny_new"
idle_timeout = "90s"
allow_registration = false
max_connections_per_session = 7

[limits]
login_per_ip_per_minute = 60
lockout_threshold = 3
lockout_window = "10m"
lockout_duration = "1h"
ws_messages_per_second = 50
max_message_bytes = 1024
register_per_ip_per_minute = 4
broadcast_bytes_per_second = 4096

[socketio]
ping_interval = "10s"
ping_timeout = "5s"
max_payload = 200000

[database]
url = "postgresql://solod:pw@db:5432/solod"
wait_timeout = "500ms"
password_file = "/run/secrets/db"
pool_size = 8

[audit]
durability = "async"
batch_max = 1000
flush_interval = "250ms"
retention_days = 365

[log]
dir = "/var/log/solod"
level = "debug"
max_file_mb = 50
max_files = 10
format = "json"

[[services.clients]]
id = "billing"
secret_file = "/run/secrets/billing"

[[services.clients]]
id = "api.v2"
secret_file = "/run/secrets/api"

[webhooks]
timeout = "3s"
retry_for = "2h"

[[webhooks.endpoints]]
url = "https://hooks.example.com/solod"
secret_file = "/run/secrets/hook"
events = ["session.started", "session.ended"]

[[webhooks.endpoints]]
url = "http://127.0.0.1:9000/"
secret_file = "/run/secrets/hook2"
)";

/// The same values as all_changed(), one SOLOD_<SECTION>_<KEY> per key.
environment all_changed_env() {
  return {
      {"SOLOD_SERVER_LISTEN", "[::1]:9000"},
      {"SOLOD_SERVER_TLS", "required"},
      {"SOLOD_SERVER_CERT_FILE", "/etc/solod/cert.pem"},
      {"SOLOD_SERVER_KEY_FILE", "/etc/solod/key.pem"},
      {"SOLOD_SERVER_THREADS", "4"},
      {"SOLOD_SERVER_ALLOWED_ORIGINS", "https://chat.example.com,https://admin.example.com"},
      {"SOLOD_SERVER_TRUSTED_PROXIES", R"(["10.0.0.0/8", "fd00::/8", "192.168.1.1"])"},
      {"SOLOD_SERVER_MAX_CONNECTIONS", "100"},
      {"SOLOD_SERVER_MAX_CONNECTIONS_PER_IP", "50"},
      {"SOLOD_SERVER_MAX_BODY_BYTES", "2048"},
      {"SOLOD_SERVER_STATIC_DIR", "/srv/web"},
      {"SOLOD_SERVER_HEADER_TIMEOUT", "5s"},
      {"SOLOD_SERVER_HANDSHAKE_TIMEOUT", "3s"},
      {"SOLOD_SERVER_WS_IDLE_TIMEOUT", "2m"},
      {"SOLOD_AUTH_JWT_SECRET_FILE", "/run/secrets/jwt"},
      {"SOLOD_AUTH_TOKEN_TTL", "8h"},
      {"SOLOD_AUTH_SESSION_POLICY", "deny_new"},
      {"SOLOD_AUTH_IDLE_TIMEOUT", "90s"},
      {"SOLOD_AUTH_ALLOW_REGISTRATION", "false"},
      {"SOLOD_AUTH_MAX_CONNECTIONS_PER_SESSION", "7"},
      {"SOLOD_LIMITS_LOGIN_PER_IP_PER_MINUTE", "60"},
      {"SOLOD_LIMITS_LOCKOUT_THRESHOLD", "3"},
      {"SOLOD_LIMITS_LOCKOUT_WINDOW", "10m"},
      {"SOLOD_LIMITS_LOCKOUT_DURATION", "1h"},
      {"SOLOD_LIMITS_WS_MESSAGES_PER_SECOND", "50"},
      {"SOLOD_SOCKETIO_PING_INTERVAL", "10s"},
      {"SOLOD_SOCKETIO_PING_TIMEOUT", "5s"},
      {"SOLOD_SOCKETIO_MAX_PAYLOAD", "200000"},
      {"SOLOD_LIMITS_MAX_MESSAGE_BYTES", "1024"},
      {"SOLOD_LIMITS_REGISTER_PER_IP_PER_MINUTE", "4"},
      {"SOLOD_LIMITS_BROADCAST_BYTES_PER_SECOND", "4096"},
      {"SOLOD_DATABASE_URL", "postgresql://solod:pw@db:5432/solod"},
      {"SOLOD_DATABASE_WAIT_TIMEOUT", "500ms"},
      {"SOLOD_DATABASE_PASSWORD_FILE", "/run/secrets/db"},
      {"SOLOD_DATABASE_POOL_SIZE", "8"},
      {"SOLOD_AUDIT_DURABILITY", "async"},
      {"SOLOD_AUDIT_BATCH_MAX", "1000"},
      {"SOLOD_AUDIT_FLUSH_INTERVAL", "250ms"},
      {"SOLOD_AUDIT_RETENTION_DAYS", "365"},
      {"SOLOD_LOG_DIR", "/var/log/solod"},
      {"SOLOD_LOG_LEVEL", "debug"},
      {"SOLOD_LOG_MAX_FILE_MB", "50"},
      {"SOLOD_LOG_MAX_FILES", "10"},
      {"SOLOD_LOG_FORMAT", "json"},
      {"SOLOD_SERVICES_CLIENTS",
       R"([{id = "billing", secret_file = "/run/secrets/billing"}, {id = "api.v2", secret_file = "/run/secrets/api"}])"},
      {"SOLOD_WEBHOOKS_ENDPOINTS",
       R"([{url = "https://hooks.example.com/solod", secret_file = "/run/secrets/hook", events = ["session.started", "session.ended"]},
           {url = "http://127.0.0.1:9000/", secret_file = "/run/secrets/hook2"}])"},
      {"SOLOD_WEBHOOKS_TIMEOUT", "3s"},
      {"SOLOD_WEBHOOKS_RETRY_FOR", "2h"},
  };
}

} // namespace

// -- durations ------------------------------------------------------------------

TEST_CASE("parse_duration reads an integer and a unit", "[config]") {
  CHECK(solod::parse_duration("10ms") == 10ms);
  CHECK(solod::parse_duration("5s") == 5s);
  CHECK(solod::parse_duration("30m") == 30min);
  CHECK(solod::parse_duration("24h") == 24h);
  CHECK(solod::parse_duration("7d") == 7 * 24h);
  CHECK(solod::parse_duration("0s") == 0ms);
  CHECK(solod::parse_duration("0ms") == 0ms);
  CHECK(solod::parse_duration("007s") == 7s);
}

TEST_CASE("parse_duration refuses anything else", "[config]") {
  for (const char* text : {"", "10", "s", "ms", "soon", "10x", "10S", "10 s", " 10s", "10s ", "-5s", "+5s", "1.5h",
                           "5s3", "1h30m", "10msx", "99999999999999999999s", "9999999999999999d"}) {
    INFO("text: '" << text << "'");
    CHECK_FALSE(solod::parse_duration(text).has_value());
  }
}

TEST_CASE("format_duration uses the largest unit that divides exactly", "[config]") {
  CHECK(solod::format_duration(24h) == "24h");
  CHECK(solod::format_duration(15min) == "15m");
  CHECK(solod::format_duration(10ms) == "10ms");
  CHECK(solod::format_duration(90s) == "90s");
  CHECK(solod::format_duration(1500ms) == "1500ms");
  CHECK(solod::format_duration(7 * 24h) == "168h");
  CHECK(solod::format_duration(0ms) == "0s");

  SECTION("what it writes reads back") {
    for (auto d : {1ms, 999ms, 1000ms, 61000ms, 3600000ms, 86400000ms, 123456789ms}) {
      CHECK(solod::parse_duration(solod::format_duration(d)) == d);
    }
  }
}

// -- defaults and the shipped file ------------------------------------------------

TEST_CASE("defaults are the SPEC's", "[config]") {
  const config c;
  CHECK(c.server.listen == "127.0.0.1:8443");
  CHECK(c.server.tls == solod::tls_mode::auto_detect);
  CHECK(c.auth.token_ttl == 24h);
  CHECK(c.auth.idle_timeout == 30min);
  CHECK(c.audit.flush_interval == 10ms);
  CHECK(c.database.url == "sqlite3://data/solod.db");
  // Flask-SocketIO's (python-engineio's) defaults, so its clients see the same timings.
  CHECK(c.socketio.ping_interval == 25s);
  CHECK(c.socketio.ping_timeout == 20s);
  CHECK(c.socketio.max_payload == 1'000'000);
}

TEST_CASE("config/solod.toml holds every key at its default", "[config]") {
  const std::string path = shipped_config_path();
  REQUIRE(fs::exists(path));

  SECTION("loading it gives the built-in defaults") {
    CHECK(load_config(path, {}) == config{});
  }
  SECTION("it has the same keys as the rendered config, no more, no less") {
    const auto shipped = key_names(toml::parse_file(path));
    const auto rendered = key_names(toml::parse(solod::render_config(config{})));
    CHECK(shipped == rendered);
    CHECK(shipped.size() == 62);
  }
}

TEST_CASE("an empty path reads config/solod.toml only if it exists", "[config]") {
  temp_dir dir;
  current_dir_guard in{dir.path};

  SECTION("absent: defaults") {
    CHECK(load_config("", {}) == config{});
  }
  SECTION("present: it is read") {
    dir.write("config/solod.toml", "[server]\nthreads = 3\n");
    CHECK(load_config("", {}).server.threads == 3);
  }
  SECTION("present but broken: the error names it") {
    dir.write("config/solod.toml", "[server\n");
    CHECK_THROWS_WITH(load_config("", {}), Contains("config file 'config/solod.toml'"));
  }
}

// -- loading a file -----------------------------------------------------------------

TEST_CASE("every key is read from the file", "[config]") {
  CHECK(load_text(all_changed_toml) == all_changed());
}

TEST_CASE("a partial file changes only its keys", "[config]") {
  const config c = load_text("[audit]\nbatch_max = 64\n");
  config expected;
  expected.audit.batch_max = 64;
  CHECK(c == expected);
  CHECK(load_text("") == config{});
}

TEST_CASE("dotted keys are the same keys", "[config]") {
  CHECK(load_text("server.threads = 2\n").server.threads == 2);
}

TEST_CASE("files that cannot be read name the file", "[config]") {
  temp_dir dir;

  SECTION("missing") {
    const std::string path = (dir.path / "nope.toml").string();
    CHECK_THROWS_AS(load_config(path, {}), config_error);
    CHECK_THROWS_WITH(load_config(path, {}), "cannot read config file '" + path + "': No such file or directory");
  }
  SECTION("a directory") {
    CHECK_THROWS_WITH(load_config(dir.path.string(), {}),
                      Contains("cannot read config file '" + dir.path.string() + "'"));
  }
  SECTION("a syntax error gives the line") {
    const std::string path = dir.write("bad.toml", "[server]\nthreads = 1\nlisten = \n");
    CHECK_THROWS_WITH(load_config(path, {}), Contains("config file '" + path + "': parse error at line 3: "));
  }
  SECTION("a key given twice is a syntax error") {
    const std::string path = dir.write("dup.toml", "[server]\nthreads = 1\nthreads = 2\n");
    CHECK_THROWS_WITH(load_config(path, {}), Contains("parse error at line 3"));
  }
}

TEST_CASE("errors from a file name the file", "[config]") {
  temp_dir dir;
  const std::string path = dir.write("x.toml", "[server]\nlistn = \"1.2.3.4:1\"\n");
  CHECK_THROWS_WITH(load_config(path, {}), "config file '" + path + "': unknown config key 'server.listn'");
}

TEST_CASE("unknown sections and keys are refused", "[config]") {
  CHECK_THAT(error_of("[server]\nlistn = \"127.0.0.1:1\"\n"), Contains("unknown config key 'server.listn'"));
  CHECK_THAT(error_of("[sever]\nlisten = \"127.0.0.1:1\"\n"), Contains("unknown config section 'sever'"));
  CHECK_THAT(error_of("listen = \"127.0.0.1:1\"\n"), Contains("unknown config key 'listen'"));
  CHECK_THAT(error_of("[server.extra]\nx = 1\n"), Contains("unknown config key 'server.extra'"));
  CHECK_THAT(error_of("server = 5\n"), Contains("config section 'server' must be a table"));
  CHECK_THAT(error_of("[[server]]\nthreads = 1\n"), Contains("config section 'server' must be a table"));
  // data_dir is a field of the struct but not a SPEC key.
  CHECK_THAT(error_of("data_dir = \"x\"\n"), Contains("unknown config key 'data_dir'"));
}

TEST_CASE("values of the wrong type are refused with the key and the value", "[config]") {
  CHECK_THAT(error_of("[server]\nthreads = \"x\"\n"),
             Contains("invalid value for server.threads: 'x' (expected an integer from 0 to 256)"));
  CHECK_THAT(error_of("[server]\nthreads = 1.5\n"), Contains("invalid value for server.threads: '1.5'"));
  CHECK_THAT(error_of("[server]\nlisten = 8443\n"), Contains("invalid value for server.listen: '8443'"));
  CHECK_THAT(error_of("[auth]\nallow_registration = \"yes\"\n"),
             Contains("invalid value for auth.allow_registration: 'yes' (expected true or false)"));
  CHECK_THAT(error_of("[auth]\ntoken_ttl = 3600\n"),
             Contains("invalid value for auth.token_ttl: '3600' (expected a duration such as 30s, 15m, 24h)"));
  CHECK_THAT(error_of("[server]\nallowed_origins = \"https://a.example\"\n"),
             Contains("invalid value for server.allowed_origins: 'https://a.example' (expected a list of strings)"));
  CHECK_THAT(error_of("[server]\ntrusted_proxies = [1, 2]\n"),
             Contains("invalid value for server.trusted_proxies: '[ 1, 2 ]' (expected a list of strings)"));
}

TEST_CASE("every number is bounded above, with the range in the message", "[config]") {
  CHECK_THAT(error_of("[audit]\nretention_days = 1000000\n"),
             Contains("invalid value for audit.retention_days: '1000000' (expected an integer from 1 to 36500)"));
  CHECK_THAT(error_of("[server]\nthreads = 100000\n"), Contains("server.threads: '100000'"));
  CHECK_THAT(error_of("[server]\nmax_connections = 9223372036854775807\n"), Contains("server.max_connections"));
  CHECK_THAT(error_of("[auth]\nmax_connections_per_session = 1001\n"), Contains("auth.max_connections_per_session"));
  CHECK_THAT(error_of("[limits]\nlockout_threshold = 2000000\n"), Contains("limits.lockout_threshold"));
  CHECK_THAT(error_of("[log]\nmax_files = 10001\n"), Contains("log.max_files"));
  CHECK_THAT(error_of("[socketio]\nmax_payload = 67108865\n"), Contains("socketio.max_payload"));
  CHECK_THAT(error_of("[socketio]\nmax_payload = 100\n"), Contains("socketio.max_payload: '100'"));
  CHECK_THAT(error_of("[socketio]\nping_interval = \"2h\"\n"), Contains("socketio.ping_interval: '2h'"));
  CHECK_THAT(error_of("[socketio]\nping_timeout = \"0s\"\n"), Contains("socketio.ping_timeout: '0s'"));
  CHECK_THAT(error_of("[auth]\ntoken_ttl = \"367d\"\n"),
             Contains("invalid value for auth.token_ttl: '367d' (expected a duration from 1ms to 366d)"));
  CHECK_THAT(error_of("[auth]\nidle_timeout = \"9999999999d\"\n"), Contains("auth.idle_timeout"));
  CHECK_THAT(error_of("[limits]\nlockout_duration = \"99999999999999999999d\"\n"),
             Contains("limits.lockout_duration"));
  CHECK_THAT(error_of("[audit]\nflush_interval = \"2m\"\n"), Contains("audit.flush_interval"));
  CHECK_THAT(error_of("[server]\nheader_timeout = \"1h\"\n"), Contains("server.header_timeout"));
  CHECK(load_text("[audit]\nretention_days = 36500\n").audit.retention_days == 36500);
}

TEST_CASE("bad durations are refused", "[config]") {
  CHECK_THAT(error_of("[auth]\ntoken_ttl = \"soon\"\n"),
             Contains("invalid value for auth.token_ttl: 'soon' (expected a duration such as 30s, 15m, 24h)"));
  CHECK_THAT(error_of("[auth]\ntoken_ttl = \"0s\"\n"),
             Contains("invalid value for auth.token_ttl: '0s' (expected a duration from 1ms to 366d)"));
  CHECK_THAT(error_of("[auth]\nidle_timeout = \"0m\"\n"), Contains("auth.idle_timeout: '0m'"));
  CHECK_THAT(error_of("[audit]\nflush_interval = \"0ms\"\n"), Contains("audit.flush_interval: '0ms'"));
  CHECK_THAT(error_of("[limits]\nlockout_window = \"15 m\"\n"), Contains("limits.lockout_window: '15 m'"));
  CHECK_THAT(error_of("[limits]\nlockout_duration = \"0s\"\n"), Contains("limits.lockout_duration: '0s'"));
  CHECK(load_text("[audit]\nflush_interval = \"1ms\"\n").audit.flush_interval == 1ms);
  CHECK(load_text("[auth]\ntoken_ttl = \"7d\"\n").auth.token_ttl == 7 * 24h);
}

TEST_CASE("bad enum values are refused with the choices", "[config]") {
  CHECK_THAT(error_of("[server]\ntls = \"sometimes\"\n"),
             Contains("invalid value for server.tls: 'sometimes' (expected one of auto, required, off)"));
  CHECK_THAT(error_of("[auth]\nsession_policy = \"kick_new\"\n"),
             Contains("invalid value for auth.session_policy: 'kick_new' (expected one of kick_old, deny_new)"));
  CHECK_THAT(error_of("[audit]\ndurability = \"sync\"\n"),
             Contains("invalid value for audit.durability: 'sync' (expected one of commit, async)"));
  CHECK_THAT(error_of("[log]\nformat = \"xml\"\n"),
             Contains("invalid value for log.format: 'xml' (expected one of text, json)"));
  CHECK_THAT(error_of("[log]\nlevel = \"warning\"\n"),
             Contains("invalid value for log.level: 'warning' (expected one of trace, debug, info, warn, error, "
                      "critical, off)"));
  CHECK_THAT(error_of("[server]\ntls = \"AUTO\"\n"), Contains("server.tls: 'AUTO'"));

  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    CHECK(load_text(std::string{"[log]\nlevel = \""} + level + "\"\n").log.level == level);
  }
  CHECK(load_text("[server]\ntls = \"off\"\n").server.tls == solod::tls_mode::off);
  CHECK(load_text("[server]\ntls = \"auto\"\n").server.tls == solod::tls_mode::auto_detect);
}

TEST_CASE("server.listen must be HOST:PORT", "[config]") {
  for (const char* good : {"127.0.0.1:8443", "0.0.0.0:0", "localhost:80", "chat.example.com:65535", "[::1]:8443",
                           "[::]:443", "[2001:db8::1]:1", "my-host:8080"}) {
    INFO("listen = " << good);
    CHECK(load_text(std::string{"[server]\nlisten = \""} + good + "\"\n").server.listen == good);
  }
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":8443", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:84a3", "::1:8443", "[::1]8443", "[::1]", "[nothost]:80", "999.1.1.1:80",
                          "1.2.3:80", "-bad.example:80", "bad_host:80", "host name:80", "127.0.0.1:123456"}) {
    INFO("listen = " << bad);
    CHECK_THAT(error_of(std::string{"[server]\nlisten = \""} + bad + "\"\n"),
               Contains(std::string{"invalid value for server.listen: '"} + bad +
                        "' (expected HOST:PORT such as 127.0.0.1:8443 or [::1]:8443)"));
  }
}

TEST_CASE("integer ranges are enforced", "[config]") {
  struct bound {
    const char* section;
    const char* key;
    long long lowest_good;
  };
  for (const bound& b : {bound{"server", "threads", 0}, bound{"server", "max_connections", 1},
                         bound{"server", "max_body_bytes", 1024}, bound{"auth", "max_connections_per_session", 1},
                         bound{"limits", "login_per_ip_per_minute", 1}, bound{"limits", "lockout_threshold", 1},
                         bound{"limits", "ws_messages_per_second", 1}, bound{"limits", "max_message_bytes", 128},
                         bound{"audit", "batch_max", 1}, bound{"audit", "retention_days", 1},
                         bound{"log", "max_file_mb", 1}, bound{"log", "max_files", 1}}) {
    const std::string head = std::string{"["} + b.section + "]\n" + b.key + " = ";
    INFO(b.section << "." << b.key);
    CHECK_NOTHROW(load_text(head + std::to_string(b.lowest_good) + "\n"));
    CHECK_THAT(error_of(head + std::to_string(b.lowest_good - 1) + "\n"),
               Contains(std::string{"invalid value for "} + b.section + "." + b.key + ": '" +
                        std::to_string(b.lowest_good - 1) + "'"));
  }
  CHECK(load_text("[audit]\nbatch_max = 100000\n").audit.batch_max == 100000);
  CHECK_THAT(error_of("[audit]\nbatch_max = 100001\n"),
             Contains("invalid value for audit.batch_max: '100001' (expected an integer from 1 to 100000)"));
  // Larger than the field can hold.
  CHECK_THAT(error_of("[server]\nthreads = 4294967296\n"),
             Contains("invalid value for server.threads: '4294967296' (expected an integer from 0 to 256)"));
}

TEST_CASE("string checks: database url, proxies, cert pair, paths", "[config]") {
  SECTION("database.url needs a known scheme") {
    CHECK(load_text("[database]\nurl = \"postgres://u@h/db\"\n").database.url == "postgres://u@h/db");
    CHECK(load_text("[database]\nurl = \"sqlite3:///tmp/x.db\"\n").database.url == "sqlite3:///tmp/x.db");
    for (const char* bad : {"mysql://h/db", "data/solod.db", "sqlite3://", "SQLITE3://x.db", ""}) {
      INFO("url = " << bad);
      CHECK_THAT(error_of(std::string{"[database]\nurl = \""} + bad + "\"\n"),
                 Contains(std::string{"invalid value for database.url: '"} + bad + "'"));
    }
  }
  SECTION("trusted_proxies need IPs or CIDRs") {
    const config c = load_text(R"([server]
trusted_proxies = ["10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8", "0.0.0.0/0", "::/0", "2001:db8::/128"]
)");
    CHECK(c.server.trusted_proxies.size() == 7);
    for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0/8", "proxy.example", "10.0.0.0/8x",
                            "/8", "10.0.0.0/-1", ""}) {
      INFO("proxy = " << bad);
      CHECK_THAT(error_of(std::string{"[server]\ntrusted_proxies = [\"127.0.0.1\", \""} + bad + "\"]\n"),
                 Contains(std::string{"invalid value for server.trusted_proxies: '"} + bad +
                          "' (expected an IP address or CIDR such as 10.0.0.0/8 or fd00::/8)"));
    }
  }
  SECTION("cert_file and key_file go together") {
    CHECK_THAT(error_of("[server]\ncert_file = \"c.pem\"\n"),
               Contains("server.cert_file and server.key_file must be set together"));
    CHECK_THAT(error_of("[server]\nkey_file = \"k.pem\"\n"),
               Contains("server.cert_file and server.key_file must be set together"));
    // The pair is checked after the environment, which may complete or clear it.
    CHECK(load_text("[server]\ncert_file = \"c.pem\"\n", {{"SOLOD_SERVER_CERT_FILE", ""}}).server.cert_file.empty());
    CHECK(load_text("[server]\ncert_file = \"c.pem\"\n", {{"SOLOD_SERVER_KEY_FILE", "k.pem"}}).server.key_file ==
          "k.pem");
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_KEY_FILE", "k.pem"}}),
               Contains("server.cert_file and server.key_file must be set together (cert_file = '', key_file = "
                        "'k.pem')"));
    const config c = load_text("[server]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n");
    CHECK(c.server.cert_file == "c.pem");
    CHECK(c.server.key_file == "k.pem");
  }
  SECTION("directories cannot be empty") {
    CHECK_THAT(error_of("[server]\nstatic_dir = \"\"\n"), Contains("invalid value for server.static_dir: ''"));
    CHECK_THAT(error_of("[log]\ndir = \"\"\n"), Contains("invalid value for log.dir: ''"));
    CHECK_THAT(error_of("[server]\nallowed_origins = [\"\"]\n"),
               Contains("invalid value for server.allowed_origins: ''"));
  }
}

// -- the environment ----------------------------------------------------------------

TEST_CASE("every key can be overridden from the environment", "[config]") {
  CHECK(load_text("", all_changed_env()) == all_changed());
}

TEST_CASE("environment values are read as their key's type", "[config]") {
  SECTION("string") {
    CHECK(load_text("", {{"SOLOD_SERVER_LISTEN", "0.0.0.0:0"}}).server.listen == "0.0.0.0:0");
  }
  SECTION("integer") {
    CHECK(load_text("", {{"SOLOD_SERVER_THREADS", "8"}}).server.threads == 8);
    CHECK(load_text("", {{"SOLOD_SERVER_MAX_BODY_BYTES", "4096"}}).server.max_body_bytes == 4096);
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_THREADS", "x"}}),
               Contains("environment variable SOLOD_SERVER_THREADS: invalid value for server.threads: 'x' "
                        "(expected an integer from 0 to 256)"));
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_THREADS", "4 "}}), Contains("server.threads: '4 '"));
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_THREADS", ""}}), Contains("server.threads: ''"));
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_THREADS", "-1"}}), Contains("server.threads: '-1'"));
    CHECK_THAT(env_error_of({{"SOLOD_AUDIT_BATCH_MAX", "0"}}), Contains("audit.batch_max: '0'"));
  }
  SECTION("boolean") {
    CHECK_FALSE(load_text("", {{"SOLOD_AUTH_ALLOW_REGISTRATION", "false"}}).auth.allow_registration);
    CHECK_FALSE(load_text("", {{"SOLOD_AUTH_ALLOW_REGISTRATION", "0"}}).auth.allow_registration);
    CHECK(load_text("[auth]\nallow_registration = false\n", {{"SOLOD_AUTH_ALLOW_REGISTRATION", "true"}})
              .auth.allow_registration);
    CHECK(load_text("[auth]\nallow_registration = false\n", {{"SOLOD_AUTH_ALLOW_REGISTRATION", "1"}})
              .auth.allow_registration);
    CHECK_THAT(env_error_of({{"SOLOD_AUTH_ALLOW_REGISTRATION", "yes"}}),
               Contains("invalid value for auth.allow_registration: 'yes' (expected true or false)"));
  }
  SECTION("duration") {
    CHECK(load_text("", {{"SOLOD_AUTH_TOKEN_TTL", "15m"}}).auth.token_ttl == 15min);
    CHECK_THAT(env_error_of({{"SOLOD_AUTH_TOKEN_TTL", "soon"}}),
               Contains("invalid value for auth.token_ttl: 'soon' (expected a duration such as 30s, 15m, 24h)"));
  }
  SECTION("enum") {
    CHECK(load_text("", {{"SOLOD_AUDIT_DURABILITY", "async"}}).audit.durability == solod::audit_durability::async);
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_TLS", "on"}}), Contains("invalid value for server.tls: 'on'"));
  }
  SECTION("list, comma-separated") {
    CHECK(load_text("", {{"SOLOD_SERVER_ALLOWED_ORIGINS", "https://a.example, https://b.example"}})
              .server.allowed_origins == std::vector<std::string>{"https://a.example", "https://b.example"});
    CHECK(load_text("", {{"SOLOD_SERVER_TRUSTED_PROXIES", "10.0.0.1"}}).server.trusted_proxies ==
          std::vector<std::string>{"10.0.0.1"});
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_TRUSTED_PROXIES", "10.0.0.1,,10.0.0.2"}}),
               Contains("invalid value for server.trusted_proxies: '10.0.0.1,,10.0.0.2' (expected a list of strings)"));
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_TRUSTED_PROXIES", "10.0.0.1,nonsense"}}),
               Contains("invalid value for server.trusted_proxies: 'nonsense'"));
  }
  SECTION("list, TOML array literal") {
    CHECK(load_text("", {{"SOLOD_SERVER_TRUSTED_PROXIES", R"(["10.0.0.0/8","::1"])"}}).server.trusted_proxies ==
          std::vector<std::string>{"10.0.0.0/8", "::1"});
    CHECK(load_text("", {{"SOLOD_SERVER_ALLOWED_ORIGINS", "[]"}}).server.allowed_origins.empty());
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_TRUSTED_PROXIES", R"(["10.0.0.1", 5])"}}),
               Contains("server.trusted_proxies"));
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_TRUSTED_PROXIES", R"(["10.0.0.1")"}}), Contains("server.trusted_proxies"));
    CHECK_THAT(env_error_of({{"SOLOD_SERVER_TRUSTED_PROXIES", "[\"10.0.0.1\"]\nx = 1"}}),
               Contains("server.trusted_proxies"));
  }
  SECTION("an empty list") {
    CHECK(load_text("[server]\nallowed_origins = [\"https://a.example\"]\n", {{"SOLOD_SERVER_ALLOWED_ORIGINS", ""}})
              .server.allowed_origins.empty());
  }
}

TEST_CASE("the environment wins over the file", "[config]") {
  const config c = load_text("[server]\nlisten = \"127.0.0.1:1\"\nthreads = 2\n", {{"SOLOD_SERVER_LISTEN", "[::1]:2"}});
  CHECK(c.server.listen == "[::1]:2");
  CHECK(c.server.threads == 2);
}

TEST_CASE("unknown SOLOD_ variables are refused, others ignored", "[config]") {
  CHECK_THAT(env_error_of({{"SOLOD_SERVER_LISTN", "127.0.0.1:1"}}),
             Contains("unknown environment variable SOLOD_SERVER_LISTN"));
  CHECK_THAT(env_error_of({{"SOLOD_DATA_DIR", "x"}}), Contains("unknown environment variable SOLOD_DATA_DIR"));
  CHECK_THAT(env_error_of({{"SOLOD_", "x"}}), Contains("unknown environment variable SOLOD_"));

  const environment harmless = {
      {"SOLOD_JWT_SECRET", "not a config key, the secret itself"},
      {"SOLOD_DATABASE_PASSWORD", "not a config key, the password itself"},
      {"SOLOD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5/postgres"}, // scripts/test.sh
      {"SOLOD_BIN", "/build/solod"},          // set by the e2e harness
      {"SOLOD_SOURCE_DIR", "/src/solod"},     // set by the e2e harness
      {"solod_server_listen", "nonsense"},    // names are case-sensitive
      {"PATH", "/usr/bin"},
      {"SOLODX_SERVER_LISTEN", "nonsense"},
  };
  CHECK(load_text("", harmless) == config{});
}

TEST_CASE("database.pool_size is bounded like every integer key", "[config]") {
  CHECK(load_text("[database]\npool_size = 1\n", {}).database.pool_size == 1);
  CHECK(load_text("[database]\npool_size = 256\n", {}).database.pool_size == 256);
  CHECK_THROWS_WITH(load_text("[database]\npool_size = 0\n", {}),
                    Contains("invalid value for database.pool_size: '0' (expected an integer from 1 to 256)"));
  CHECK_THROWS_WITH(load_text("[database]\npool_size = 257\n", {}), Contains("database.pool_size"));
  CHECK_THROWS_WITH(load_text("", {{"SOLOD_DATABASE_POOL_SIZE", "many"}}), Contains("database.pool_size"));
}

TEST_CASE("process_environment reads the process environment", "[config]") {
  REQUIRE(::setenv("SOLOD_CONFIG_TEST_PROBE", "a=b", 1) == 0);
  const environment env = solod::process_environment();
  ::unsetenv("SOLOD_CONFIG_TEST_PROBE");
  REQUIRE(env.count("SOLOD_CONFIG_TEST_PROBE") == 1);
  CHECK(env.at("SOLOD_CONFIG_TEST_PROBE") == "a=b");
}

// -- render_config ----------------------------------------------------------------

TEST_CASE("render_config writes a config that loads back equal", "[config]") {
  SECTION("defaults") {
    const std::string text = solod::render_config(config{});
    CHECK_THAT(text, Contains("[server]\nlisten = \"127.0.0.1:8443\"\ntls = \"auto\"\n"));
    CHECK_THAT(text, Contains("token_ttl = \"24h\""));
    CHECK_THAT(text, Contains("flush_interval = \"10ms\""));
    CHECK_THAT(text, Contains("allowed_origins = []"));
    CHECK(load_text(text) == config{});
  }
  SECTION("every key changed") {
    const std::string text = solod::render_config(all_changed());
    CHECK_THAT(text, Contains("trusted_proxies = [\"10.0.0.0/8\", \"fd00::/8\", \"192.168.1.1\"]"));
    CHECK(load_text(text) == all_changed());
  }
  SECTION("strings that need escaping") {
    config c;
    c.server.static_dir = "we\"ird\\dir\twith\nnewline\x01";
    c.log.dir = "журнал";
    c.server.allowed_origins = {"https://\"q\".example"};
    c.auth.token_ttl = 7 * 24h + 1ms;
    CHECK(load_text(solod::render_config(c)) == c);
  }
}

TEST_CASE("arrays of tables: service clients and webhook endpoints are checked field by field", "[config]") {
  CHECK_THAT(error_of("[[services.clients]]\nid = \"a b\"\nsecret_file = \"/x\"\n"),
             Contains("services.clients[0]: invalid value for id"));
  CHECK_THAT(error_of("[[services.clients]]\nid = \"a\"\n"),
             Contains("services.clients[0]: 'secret_file' is required"));
  CHECK_THAT(error_of("[[services.clients]]\nid = \"a\"\nsecret_file = \"/x\"\nsecret = \"s\"\n"),
             Contains("unknown field 'secret'"));
  CHECK_THAT(error_of("[services]\nclients = [\"billing\"]\n"),
             Contains("invalid value for services.clients"));
  CHECK_THAT(error_of("[[webhooks.endpoints]]\nurl = \"ftp://x\"\nsecret_file = \"/x\"\n"),
             Contains("webhooks.endpoints[0]: invalid value for url"));
  CHECK_THAT(error_of("[[webhooks.endpoints]]\nurl = \"http://x/\"\nsecret_file = \"/x\"\nevents = [\"session.begun\"]\n"),
             Contains("invalid value in events"));
  CHECK_THAT(error_of("[[webhooks.endpoints]]\nurl = \"http://x/ y\"\nsecret_file = \"/x\"\n"),
             Contains("invalid value for url"));
  CHECK_THAT(env_error_of({{"SOLOD_SERVICES_CLIENTS", "billing:/x"}}),
             Contains("SOLOD_SERVICES_CLIENTS"));
  CHECK_THAT(env_error_of({{"SOLOD_SERVICES_CLIENTS", R"([{id = "a", secret_file = "/x"}] x = 1)"}}),
             Contains("SOLOD_SERVICES_CLIENTS"));
  CHECK(load_text("", {{"SOLOD_SERVICES_CLIENTS", ""}}).services.clients.empty());
}

TEST_CASE("bytes toml++ mishandles are refused with a config_error (found by fuzz.config)", "[config]") {
  using Catch::Matchers::Contains;
  // toml++ asserts (debug) on a table header that starts with no key character.
  CHECK_THAT(error_of("[=x]\n"), Contains("line 1"));
  CHECK_THAT(error_of("[\x19]\n"), Contains("line 1"));
  // toml++ reaches __builtin_unreachable() on U+00A1..U+049A where whitespace may stand.
  CHECK_THAT(error_of("[server]\nmax_connections = 5\xc4\xab\n"), Contains("line 2"));
  CHECK_THAT(error_of("[server]\nmax_connections = 5 \xc2\xa1\n"), Contains("not ASCII"));
  // A quote inside a bad bare value opens no string for toml++ either.
  CHECK_THAT(error_of("[server]\nmax_connections = 5\"\xc4\xab\n"), Contains("not ASCII"));
  // toml++ scans a bare value through quotes and brackets.
  CHECK_THAT(error_of("[server]\ntrusted_proxies = 00..1[\"0\xc3\xa9\"]\n"), Contains("line 2"));
  // After a line-ending backslash toml++ skips whitespace with the same test.
  CHECK_THAT(error_of("[server]\nstatic_dir = \"\"\"x\\\n  \xc3\xa9\"\"\"\n"), Contains("backslash"));
  // Inside strings and comments every character is fine.
  CHECK(load_text("# caf\xc3\xa9\n[server]\nstatic_dir = \"caf\xc3\xa9 \xc4\xab\" # \xc2\xa1\n")
          .server.static_dir == "caf\xc3\xa9 \xc4\xab");
  CHECK(load_text("[server]\nstatic_dir = '''a\n\xc4\xab'''\n").server.static_dir == "a\n\xc4\xab");
  CHECK(load_text("[server]\nallowed_origins = [\n  \"https://caf\xc3\xa9.example\",\n  'x\xc4\xab' ]\n")
          .server.allowed_origins.size() == 2);
}

TEST_CASE("an environment override that is not UTF-8 is refused (found by fuzz.config)", "[config]") {
  using Catch::Matchers::Contains;
  CHECK_THAT(env_error_of({{"SOLOD_SERVER_STATIC_DIR", "web\xff"}}), Contains("SOLOD_SERVER_STATIC_DIR"));
  CHECK_THAT(env_error_of({{"SOLOD_SERVER_STATIC_DIR", "web\xc3"}}), Contains("UTF-8"));
  CHECK(load_text("", {{"SOLOD_SERVER_STATIC_DIR", "caf\xc3\xa9"}}).server.static_dir == "caf\xc3\xa9");
}

TEST_CASE("[legal_basis] names a GDPR ground per record kind", "[config]") {
  SECTION("every kind defaults to legal_obligation") {
    config c;
    CHECK(c.legal_basis.of("login_failure") == "legal_obligation");
    CHECK(c.legal_basis.of("no_such_event") == "legal_obligation");
    CHECK(c.legal_basis.all().size() == 11);
  }
  SECTION("the environment sets one kind") {
    auto c = load_config("", {{"SOLOD_LEGAL_BASIS_LOGIN_FAILURE", "legitimate_interests"},
                              {"SOLOD_LEGAL_BASIS_SESSIONS", "contract"}});
    CHECK(c.legal_basis.of("login_failure") == "legitimate_interests");
    CHECK(c.legal_basis.sessions == "contract");
    CHECK(c.legal_basis.of("login_success") == "legal_obligation");
  }
  SECTION("an unknown ground is refused, naming the key") {
    try {
      load_config("", {{"SOLOD_LEGAL_BASIS_LOGOUT", "because"}});
      FAIL("accepted an unknown legal basis");
    } catch (const config_error& e) {
      CHECK(std::string(e.what()).find("legal_basis.logout") != std::string::npos);
    }
  }
}
