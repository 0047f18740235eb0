#include "config/config.hpp"

#include "config/toml.hpp"
#include "util/hex.hpp"
#include "util/utf8.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>
#include <variant>

namespace solod {

namespace {

// -- the key table --------------------------------------------------------------

/// How a key is written in TOML; it also decides how an environment string is read.
/// Durations and enums are strings that the key itself checks.
enum class value_kind { string, integer, boolean, string_list, table_list };

/// An array of tables (`[[services.clients]]`), each item checked by its key.
using table_list = std::vector<toml::table>;

/// A value as read from the file or the environment, before the key's own checks.
using raw_value = std::variant<std::string, std::int64_t, bool, std::vector<std::string>, table_list>;

/// One SPEC §2 key: where it lives, how it is read, checked and written back.
struct key_def {
  std::string section;
  std::string name;
  value_kind kind;
  /// What the value should have been, for values of the wrong type.
  std::string expected;
  /// Checks a value of `kind` and stores it; throws `config_error` naming the key.
  std::function<void(config&, const raw_value&)> set;
  /// The current value as a TOML literal.
  std::function<std::string(const config&)> render;

  std::string full_name() const { return section + "." + name; }
};

/// A member of one section of `config`, so one table row can both read and write it.
template <typename Section, typename T>
struct field {
  Section config::*section;
  T Section::*member;

  T& operator()(config& c) const { return (c.*section).*member; }
  const T& operator()(const config& c) const { return (c.*section).*member; }
};

template <typename Section, typename T>
field<Section, T> at(Section config::*section, T Section::*member) {
  return {section, member};
}

/// The one message shape for a bad value, so every error reads the same.
[[noreturn]] void invalid(const std::string& key, const std::string& value, const std::string& expected) {
  throw config_error("invalid value for " + key + ": '" + value + "' (expected " + expected + ")");
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += separator;
    }
    out += items[i];
  }
  return out;
}

/// A TOML basic string literal: quotes, backslashes and control characters escaped.
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

/// Every integer key has both bounds, so no configured number can overflow what is computed from it.
template <typename Section, typename T>
key_def integer_key(std::string section, std::string name, field<Section, T> f, std::int64_t min, std::int64_t max) {
  const std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  const std::string key = section + "." + name;
  return {std::move(section), std::move(name), value_kind::integer, expected,
          [=](config& c, const raw_value& v) {
            const auto n = std::get<std::int64_t>(v);
            if (n < min || n > max) {
              invalid(key, std::to_string(n), expected);
            }
            f(c) = static_cast<T>(n);
          },
          [=](const config& c) { return std::to_string(f(c)); }};
}

template <typename Section>
key_def bool_key(std::string section, std::string name, field<Section, bool> f) {
  return {std::move(section), std::move(name), value_kind::boolean, "true or false",
          [=](config& c, const raw_value& v) { f(c) = std::get<bool>(v); },
          [=](const config& c) { return std::string{f(c) ? "true" : "false"}; }};
}

const std::string duration_expected = "a duration such as 30s, 15m, 24h";

/// A bound as people write it: whole days in days ("366d", not "8784h").
std::string format_limit(std::chrono::milliseconds d) {
  constexpr std::int64_t day = 86'400'000;
  if (d.count() >= day && d.count() % day == 0) {
    return std::to_string(d.count() / day) + "d";
  }
  return format_duration(d);
}

template <typename Section>
key_def duration_key(std::string section, std::string name, field<Section, std::chrono::milliseconds> f,
                     std::chrono::milliseconds min, std::chrono::milliseconds max) {
  const std::string key = section + "." + name;
  return {std::move(section), std::move(name), value_kind::string, duration_expected,
          [=](config& c, const raw_value& v) {
            const auto& text = std::get<std::string>(v);
            const auto d = parse_duration(text);
            if (!d) {
              invalid(key, text, duration_expected);
            }
            if (*d < min || *d > max) {
              invalid(key, text, "a duration from " + format_limit(min) + " to " + format_limit(max));
            }
            f(c) = *d;
          },
          [=](const config& c) { return quote(format_duration(f(c))); }};
}

/// A free-form string, checked by `valid`; `expected` describes a good one.
template <typename Section>
key_def string_key(std::string section, std::string name, field<Section, std::string> f, std::string expected,
                   std::function<bool(const std::string&)> valid = {}) {
  const std::string key = section + "." + name;
  return {std::move(section), std::move(name), value_kind::string, expected,
          [=](config& c, const raw_value& v) {
            const auto& text = std::get<std::string>(v);
            if (valid && !valid(text)) {
              invalid(key, text, expected);
            }
            f(c) = text;
          },
          [=](const config& c) { return quote(f(c)); }};
}

/// A string naming one of `choices`; stored as `T` (an enum, or the string itself).
template <typename Section, typename T>
key_def choice_key(std::string section, std::string name, field<Section, T> f,
                   std::vector<std::pair<std::string, T>> choices) {
  std::vector<std::string> names;
  for (const auto& choice : choices) {
    names.push_back(choice.first);
  }
  const std::string expected = "one of " + join(names, ", ");
  const std::string key = section + "." + name;
  return {std::move(section), std::move(name), value_kind::string, expected,
          [=](config& c, const raw_value& v) {
            const auto& text = std::get<std::string>(v);
            for (const auto& [choice_name, value] : choices) {
              if (choice_name == text) {
                f(c) = value;
                return;
              }
            }
            invalid(key, text, expected);
          },
          [=](const config& c) {
            for (const auto& [choice_name, value] : choices) {
              if (value == f(c)) {
                return quote(choice_name);
              }
            }
            return quote(""); // unreachable for values set through the table
          }};
}

/// A list of strings, each checked by `valid_item`; `expected` describes one item.
template <typename Section>
key_def list_key(std::string section, std::string name, field<Section, std::vector<std::string>> f,
                 std::string expected, std::function<bool(const std::string&)> valid_item) {
  const std::string key = section + "." + name;
  return {std::move(section), std::move(name), value_kind::string_list, "a list of strings",
          [=](config& c, const raw_value& v) {
            const auto& items = std::get<std::vector<std::string>>(v);
            for (const auto& item : items) {
              if (!valid_item(item)) {
                invalid(key, item, expected);
              }
            }
            f(c) = items;
          },
          [=](const config& c) {
            std::vector<std::string> quoted;
            for (const auto& item : f(c)) {
              quoted.push_back(quote(item));
            }
            return "[" + join(quoted, ", ") + "]";
          }};
}

/// An array of tables, each read into one `T` by `read_item`, which throws a
/// config_error naming the field; `render_item` writes one as a TOML inline table.
template <typename Section, typename T>
key_def table_list_key(std::string section, std::string name, field<Section, std::vector<T>> f,
                       std::function<T(const toml::table&)> read_item,
                       std::function<std::string(const T&)> render_item) {
  const std::string key = section + "." + name;
  return {std::move(section), std::move(name), value_kind::table_list,
          "an array of tables ([[" + key + "]])",
          [=](config& c, const raw_value& v) {
            std::vector<T> items;
            std::size_t index = 0;
            for (const auto& table : std::get<table_list>(v)) {
              try {
                items.push_back(read_item(table));
              } catch (const config_error& e) {
                throw config_error(key + "[" + std::to_string(index) + "]: " + e.what());
              }
              ++index;
            }
            f(c) = std::move(items);
          },
          [=](const config& c) {
            std::vector<std::string> rendered;
            for (const auto& item : f(c)) {
              rendered.push_back(render_item(item));
            }
            return "[" + join(rendered, ", ") + "]";
          }};
}

// -- tables of the array-of-tables keys ---------------------------------------------

/// Reads the fields of one table; unknown fields and wrong types are refused.
class table_reader {
public:
  table_reader(const toml::table& table, std::set<std::string> known) : table_(table) {
    for (const auto& [k, node] : table) {
      const std::string name{k.str()};
      if (!known.contains(name)) {
        throw config_error("unknown field '" + name + "'");
      }
    }
  }

  /// A required string field that `valid` accepts.
  std::string text(const std::string& name, const std::string& expected,
                   const std::function<bool(const std::string&)>& valid) const {
    const auto* node = table_.get(name);
    if (node == nullptr) {
      throw config_error("'" + name + "' is required (" + expected + ")");
    }
    const auto* s = node->as_string();
    if (s == nullptr || !valid(s->get())) {
      throw config_error("invalid value for " + name + " (expected " + expected + ")");
    }
    return s->get();
  }

  /// An optional list of strings, each accepted by `valid`.
  std::vector<std::string> texts(const std::string& name, const std::string& expected,
                                 const std::function<bool(const std::string&)>& valid) const {
    std::vector<std::string> out;
    const auto* node = table_.get(name);
    if (node == nullptr) {
      return out;
    }
    const auto* array = node->as_array();
    if (array == nullptr) {
      throw config_error("invalid value for " + name + " (expected a list of " + expected + ")");
    }
    for (const auto& element : *array) {
      const auto* s = element.as_string();
      if (s == nullptr || !valid(s->get())) {
        throw config_error("invalid value in " + name + " (expected " + expected + ")");
      }
      out.push_back(s->get());
    }
    return out;
  }

private:
  const toml::table& table_;
};

bool is_client_id(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool is_webhook_url(const std::string& s) {
  const bool scheme = s.starts_with("http://") || s.starts_with("https://");
  const auto host_start = s.find("//") + 2;
  return scheme && s.size() > host_start && s.size() <= 2048 &&
         std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
}

bool is_webhook_event(const std::string& s) {
  return s == "session.started" || s == "session.ended" || s == "login.failed" || s == "user.disabled";
}

service_client read_service_client(const toml::table& t) {
  table_reader r(t, {"id", "secret_file"});
  return {r.text("id", "1-64 of A-Z a-z 0-9 _ . -", is_client_id),
          r.text("secret_file", "a file path", [](const std::string& v) { return !v.empty(); })};
}

std::string render_service_client(const service_client& c) {
  return "{id = " + quote(c.id) + ", secret_file = " + quote(c.secret_file) + "}";
}

webhook_endpoint read_webhook_endpoint(const toml::table& t) {
  table_reader r(t, {"url", "secret_file", "events"});
  return {r.text("url", "an http:// or https:// URL", is_webhook_url),
          r.text("secret_file", "a file path", [](const std::string& v) { return !v.empty(); }),
          r.texts("events", "session.started, session.ended, login.failed or user.disabled",
                  is_webhook_event)};
}

std::string render_webhook_endpoint(const webhook_endpoint& e) {
  std::vector<std::string> events;
  for (const auto& ev : e.events) {
    events.push_back(quote(ev));
  }
  return "{url = " + quote(e.url) + ", secret_file = " + quote(e.secret_file) + ", events = [" +
         join(events, ", ") + "]}";
}

// -- value checks ---------------------------------------------------------------

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_ipv4(const std::string& s) {
  in_addr addr{};
  return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr addr{};
  return inet_pton(AF_INET6, s.c_str(), &addr) == 1;
}

/// RFC 1123 host names. Dotted numbers are left to `is_ipv4`, so "999.1.1.1" is refused.
bool is_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  if (std::all_of(s.begin(), s.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); })) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    const auto dot = s.find('.', start);
    const auto label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) {
        return false;
      }
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

/// "0" is allowed: it asks the OS for an ephemeral port, which tests use.
bool is_port(std::string_view s) {
  if (!all_digits(s) || s.size() > 5) {
    return false;
  }
  int port = 0;
  std::from_chars(s.data(), s.data() + s.size(), port);
  return port <= 65535;
}

/// HOST:PORT where HOST is IPv4, a host name, or [IPv6].
bool is_listen_address(const std::string& s) {
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return false;
    }
    return is_ipv6(s.substr(1, close - 1)) && is_port(std::string_view{s}.substr(close + 2));
  }
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  const std::string host = s.substr(0, colon);
  // A bare IPv6 address has colons of its own; it must be bracketed to tell them from the port.
  if (host.find(':') != std::string::npos) {
    return false;
  }
  return (is_ipv4(host) || is_hostname(host)) && is_port(std::string_view{s}.substr(colon + 1));
}

/// A single IPv4/IPv6 address, or one with a /prefix.
bool is_cidr(const std::string& s) {
  const auto slash = s.find('/');
  const std::string address = s.substr(0, slash);
  const bool v4 = is_ipv4(address);
  if (!v4 && !is_ipv6(address)) {
    return false;
  }
  if (slash == std::string::npos) {
    return true;
  }
  const std::string_view prefix = std::string_view{s}.substr(slash + 1);
  if (!all_digits(prefix) || prefix.size() > 3) {
    return false;
  }
  int bits = 0;
  std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
  return bits <= (v4 ? 32 : 128);
}

bool is_database_url(const std::string& s) {
  for (std::string_view scheme : {"sqlite3://", "postgresql://", "postgres://"}) {
    if (s.size() > scheme.size() && s.starts_with(scheme)) {
      return true;
    }
  }
  return false;
}

bool non_empty(const std::string& s) {
  return !s.empty();
}

/// An Ed25519 public key as `solod audit pubkey` prints it: 64 hex digits.
bool is_public_key_hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return hex_value(c) >= 0; });
}

// -- the table itself -------------------------------------------------------------

/// Sections in SPEC order; `render_config` writes them in this order.
const std::array<std::string, 10> section_names = {"server",   "auth",     "limits",   "socketio",
                                                   "database", "audit",    "log",      "services",
                                                   "webhooks", "legal_basis"};

/// The grounds of GDPR art. 6(1) (KVKK art. 5 has the same ones).
const std::vector<std::pair<std::string, std::string>> legal_bases = {
  {"consent", "consent"},
  {"contract", "contract"},
  {"legal_obligation", "legal_obligation"},
  {"vital_interests", "vital_interests"},
  {"public_task", "public_task"},
  {"legitimate_interests", "legitimate_interests"},
};

/// The `[legal_basis]` keys: one per audit event type, then `sessions`.
const std::vector<std::pair<std::string, std::string legal_basis_config::*>>& legal_basis_fields() {
  using c = legal_basis_config;
  static const std::vector<std::pair<std::string, std::string c::*>> fields = {
    {"register", &c::register_event},
    {"login_success", &c::login_success},
    {"login_failure", &c::login_failure},
    {"logout", &c::logout},
    {"session_superseded", &c::session_superseded},
    {"session_terminated", &c::session_terminated},
    {"session_expired", &c::session_expired},
    {"account_locked", &c::account_locked},
    {"ws_auth_failure", &c::ws_auth_failure},
    {"admin_action", &c::admin_action},
    {"sessions", &c::sessions},
  };
  return fields;
}

std::vector<key_def> legal_basis_keys() {
  std::vector<key_def> out;
  for (const auto& [name, member] : legal_basis_fields()) {
    out.push_back(choice_key("legal_basis", name, at(&config::legal_basis, member), legal_bases));
  }
  return out;
}

/// Every key but the `[legal_basis]` ones, in SPEC order.
std::vector<key_def> core_keys() {
  using std::chrono::days;
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  using std::chrono::seconds;
  return {
      string_key("server", "listen", at(&config::server, &server_config::listen),
                 "HOST:PORT such as 127.0.0.1:8443 or [::1]:8443", is_listen_address),
      choice_key("server", "tls", at(&config::server, &server_config::tls),
                 {{"auto", tls_mode::auto_detect}, {"required", tls_mode::required}, {"off", tls_mode::off}}),
      string_key("server", "cert_file", at(&config::server, &server_config::cert_file), "a path to a PEM file"),
      string_key("server", "key_file", at(&config::server, &server_config::key_file), "a path to a PEM file"),
      integer_key("server", "threads", at(&config::server, &server_config::threads), 0, 256),
      list_key("server", "allowed_origins", at(&config::server, &server_config::allowed_origins),
               "an origin such as https://chat.example.com", non_empty),
      list_key("server", "trusted_proxies", at(&config::server, &server_config::trusted_proxies),
               "an IP address or CIDR such as 10.0.0.0/8 or fd00::/8", is_cidr),
      integer_key("server", "max_connections", at(&config::server, &server_config::max_connections), 1, 1'000'000),
      integer_key("server", "max_connections_per_ip", at(&config::server, &server_config::max_connections_per_ip), 1,
                  1'000'000),
      integer_key("server", "max_body_bytes", at(&config::server, &server_config::max_body_bytes), 1024,
                  64 * 1024 * 1024),
      string_key("server", "static_dir", at(&config::server, &server_config::static_dir), "a directory path",
                 non_empty),
      duration_key("server", "header_timeout", at(&config::server, &server_config::header_timeout), milliseconds{100},
                   minutes{10}),
      duration_key("server", "handshake_timeout", at(&config::server, &server_config::handshake_timeout),
                   milliseconds{100}, minutes{10}),
      duration_key("server", "ws_idle_timeout", at(&config::server, &server_config::ws_idle_timeout),
                   milliseconds{200}, hours{24}),

      string_key("auth", "jwt_secret_file", at(&config::auth, &auth_config::jwt_secret_file), "a file path"),
      duration_key("auth", "token_ttl", at(&config::auth, &auth_config::token_ttl), milliseconds{1}, days{366}),
      choice_key("auth", "session_policy", at(&config::auth, &auth_config::policy),
                 {{"kick_old", session_policy::kick_old}, {"deny_new", session_policy::deny_new}}),
      duration_key("auth", "idle_timeout", at(&config::auth, &auth_config::idle_timeout), milliseconds{1}, days{366}),
      bool_key("auth", "allow_registration", at(&config::auth, &auth_config::allow_registration)),
      integer_key("auth", "max_connections_per_session",
                  at(&config::auth, &auth_config::max_connections_per_session), 1, 1000),

      integer_key("limits", "login_per_ip_per_minute", at(&config::limits, &limits_config::login_per_ip_per_minute),
                  1, 1'000'000),
      integer_key("limits", "lockout_threshold", at(&config::limits, &limits_config::lockout_threshold), 1,
                  1'000'000),
      duration_key("limits", "lockout_window", at(&config::limits, &limits_config::lockout_window), milliseconds{1},
                   days{366}),
      duration_key("limits", "lockout_duration", at(&config::limits, &limits_config::lockout_duration),
                   milliseconds{1}, days{366}),
      integer_key("limits", "ws_messages_per_second", at(&config::limits, &limits_config::ws_messages_per_second), 1,
                  1'000'000),
      integer_key("limits", "max_message_bytes", at(&config::limits, &limits_config::max_message_bytes), 128,
                  16 * 1024 * 1024),
      integer_key("limits", "register_per_ip_per_minute",
                  at(&config::limits, &limits_config::register_per_ip_per_minute), 1, 1'000'000),
      integer_key("limits", "broadcast_bytes_per_second",
                  at(&config::limits, &limits_config::broadcast_bytes_per_second), 128, 64 * 1024 * 1024),

      duration_key("socketio", "ping_interval", at(&config::socketio, &socketio_config::ping_interval),
                   milliseconds{100}, hours{1}),
      duration_key("socketio", "ping_timeout", at(&config::socketio, &socketio_config::ping_timeout),
                   milliseconds{100}, hours{1}),
      integer_key("socketio", "max_payload", at(&config::socketio, &socketio_config::max_payload), 1024,
                  64 * 1024 * 1024),

      string_key("database", "url", at(&config::database, &database_config::url),
                 "a URL starting with sqlite3:// or postgresql://", is_database_url),
      duration_key("database", "wait_timeout", at(&config::database, &database_config::wait_timeout),
                   milliseconds{10}, minutes{10}),
      string_key("database", "password_file", at(&config::database, &database_config::password_file),
                 "a file path"),
      integer_key("database", "pool_size", at(&config::database, &database_config::pool_size), 1, 256),

      choice_key("audit", "durability", at(&config::audit, &audit_config::durability),
                 {{"commit", audit_durability::commit}, {"async", audit_durability::async}}),
      integer_key("audit", "batch_max", at(&config::audit, &audit_config::batch_max), 1, 100000),
      duration_key("audit", "flush_interval", at(&config::audit, &audit_config::flush_interval), milliseconds{1},
                   seconds{60}),
      // 100 years: "keep forever" in practice, and far from any date overflow.
      integer_key("audit", "retention_days", at(&config::audit, &audit_config::retention_days), 1, 36'500),
      duration_key("audit", "checkpoint_interval", at(&config::audit, &audit_config::checkpoint_interval),
                   seconds{1}, days{1}),
      string_key("audit", "signing_key_file", at(&config::audit, &audit_config::signing_key_file), "a file path"),
      list_key("audit", "trusted_keys", at(&config::audit, &audit_config::trusted_keys),
               "an Ed25519 public key: 64 hex digits, as `solod audit pubkey` prints it", is_public_key_hex),

      string_key("log", "dir", at(&config::log, &log_config::dir), "a directory path", non_empty),
      choice_key("log", "level", at(&config::log, &log_config::level),
                 std::vector<std::pair<std::string, std::string>>{{"trace", "trace"},
                                                                  {"debug", "debug"},
                                                                  {"info", "info"},
                                                                  {"warn", "warn"},
                                                                  {"error", "error"},
                                                                  {"critical", "critical"},
                                                                  {"off", "off"}}),
      integer_key("log", "max_file_mb", at(&config::log, &log_config::max_file_mb), 1, 1'000'000),
      integer_key("log", "max_files", at(&config::log, &log_config::max_files), 1, 10'000),
      choice_key("log", "format", at(&config::log, &log_config::format),
                 {{"text", log_format::text}, {"json", log_format::json}}),

      table_list_key<services_config, service_client>("services", "clients",
                                                      at(&config::services, &services_config::clients),
                                                      read_service_client, render_service_client),

      table_list_key<webhooks_config, webhook_endpoint>("webhooks", "endpoints",
                                                        at(&config::webhooks, &webhooks_config::endpoints),
                                                        read_webhook_endpoint, render_webhook_endpoint),
      duration_key("webhooks", "timeout", at(&config::webhooks, &webhooks_config::timeout), milliseconds{100},
                   minutes{5}),
      duration_key("webhooks", "retry_for", at(&config::webhooks, &webhooks_config::retry_for), seconds{1},
                   days{30}),
  };
}

const std::vector<key_def>& keys() {
  static const std::vector<key_def> table = [] {
    auto all = core_keys();
    auto extra = legal_basis_keys();
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }();
  return table;
}

const key_def* find_key(std::string_view section, std::string_view name) {
  for (const auto& def : keys()) {
    if (def.section == section && def.name == name) {
      return &def;
    }
  }
  return nullptr;
}

bool is_section(std::string_view name) {
  return std::find(section_names.begin(), section_names.end(), name) != section_names.end();
}

std::string env_name(const key_def& def) {
  std::string out = "SOLOD_" + def.section + "_" + def.name;
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

/// SOLOD_* variables that are not config keys. SOLOD_JWT_SECRET is the secret itself
/// (SPEC §2), SOLOD_DATABASE_PASSWORD the PostgreSQL password (storage/database.cpp);
/// SOLOD_BIN and SOLOD_SOURCE_DIR are set by the e2e harness (CMakeLists.txt)
/// and reach the server through the test's environment, as SOLOD_TEST_PG_URL and
/// SOLOD_TEST_PG_DIR (the test PostgreSQL, scripts/test.sh) do; SOLOD_TEST_HOOKS=1 turns on
/// failure injection for the e2e tests (app/server.cpp).
const std::set<std::string, std::less<>> non_config_variables = {
  "SOLOD_JWT_SECRET", "SOLOD_DATABASE_PASSWORD", "SOLOD_BIN", "SOLOD_SOURCE_DIR", "SOLOD_TEST_HOOKS",
  "SOLOD_TEST_PG_URL", "SOLOD_TEST_PG_DIR"};

// -- reading values -------------------------------------------------------------------

/// How a TOML value is shown in an error: strings without their quotes.
std::string show(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    return s->get();
  }
  std::ostringstream out;
  node.visit([&](const auto& n) { out << n; });
  return out.str();
}

/// `node` as a value of `kind`, or nothing if it has another type.
std::optional<raw_value> from_node(const toml::node& node, value_kind kind) {
  switch (kind) {
    case value_kind::string:
      if (const auto* s = node.as_string()) {
        return s->get();
      }
      return std::nullopt;
    case value_kind::integer:
      if (const auto* i = node.as_integer()) {
        return i->get();
      }
      return std::nullopt;
    case value_kind::boolean:
      if (const auto* b = node.as_boolean()) {
        return b->get();
      }
      return std::nullopt;
    case value_kind::string_list: {
      const auto* array = node.as_array();
      if (array == nullptr) {
        return std::nullopt;
      }
      std::vector<std::string> items;
      for (const auto& element : *array) {
        const auto* s = element.as_string();
        if (s == nullptr) {
          return std::nullopt;
        }
        items.push_back(s->get());
      }
      return items;
    }
    case value_kind::table_list: {
      const auto* array = node.as_array();
      if (array == nullptr) {
        return std::nullopt;
      }
      table_list items;
      for (const auto& element : *array) {
        const auto* t = element.as_table();
        if (t == nullptr) {
          return std::nullopt;
        }
        items.push_back(*t);
      }
      return items;
    }
  }
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

void check_non_ascii_placement(const std::string& text, const std::string& path,
                               const std::string& where);

/// An environment array: a TOML array literal such as ["a","b"] or [{id = "x"}];
/// for a list of strings also "a,b".
std::optional<raw_value> list_from_text(const std::string& text, value_kind kind) {
  const std::string_view body = trim(text);
  if (body.empty()) {
    return kind == value_kind::table_list ? raw_value{table_list{}} : raw_value{std::vector<std::string>{}};
  }
  if (body.front() == '[' || kind == value_kind::table_list) {
    toml::table parsed;
    try {
      const std::string document = "value = " + std::string{body};
      check_non_ascii_placement(document, "environment", "");
      parsed = toml::parse(document);
    } catch (const toml::parse_error&) {
      return std::nullopt;
    } catch (const config_error&) {
      return std::nullopt;
    }
    // Anything after the array (another "key = value" line) makes it not a list.
    if (parsed.size() != 1 || parsed.get("value") == nullptr) {
      return std::nullopt;
    }
    return from_node(*parsed.get("value"), kind);
  }
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    const auto comma = body.find(',', start);
    const auto item = trim(body.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty()) {
      return std::nullopt; // "a,,b" or a trailing comma is a typo, not an empty entry
    }
    items.emplace_back(item);
    if (comma == std::string_view::npos) {
      return items;
    }
    start = comma + 1;
  }
}

/// An environment string as a value of `kind`, or nothing if it does not read as one.
std::optional<raw_value> from_text(const std::string& text, value_kind kind) {
  switch (kind) {
    case value_kind::string:
      return text;
    case value_kind::integer: {
      std::int64_t n = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
      }
      return n;
    }
    case value_kind::boolean:
      if (text == "true" || text == "1") {
        return true;
      }
      if (text == "false" || text == "0") {
        return false;
      }
      return std::nullopt;
    case value_kind::string_list:
    case value_kind::table_list:
      return list_from_text(text, kind);
  }
  return std::nullopt;
}

// -- loading ----------------------------------------------------------------------

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

std::string read_file(const std::string& path) {
  std::unique_ptr<std::FILE, file_closer> file{std::fopen(path.c_str(), "rb")};
  if (!file) {
    throw config_error("cannot read config file '" + path + "': " + std::strerror(errno));
  }
  std::string content;
  char buffer[8192];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    content.append(buffer, n);
  }
  if (std::ferror(file.get())) {
    throw config_error("cannot read config file '" + path + "': " + std::strerror(errno));
  }
  return content;
}

void apply_table(config& cfg, const toml::table& root) {
  for (const auto& [section_key, section_node] : root) {
    const std::string section{section_key.str()};
    if (!is_section(section)) {
      throw config_error(section_node.is_table() ? "unknown config section '" + section + "'"
                                                 : "unknown config key '" + section + "'");
    }
    const auto* table = section_node.as_table();
    if (table == nullptr) {
      throw config_error("config section '" + section + "' must be a table ([" + section + "])");
    }
    for (const auto& [name_key, node] : *table) {
      const std::string name{name_key.str()};
      const key_def* def = find_key(section, name);
      if (def == nullptr) {
        throw config_error("unknown config key '" + section + "." + name + "'");
      }
      const auto value = from_node(node, def->kind);
      if (!value) {
        invalid(def->full_name(), show(node), def->expected);
      }
      def->set(cfg, *value);
    }
  }
}

/// Refuses what toml++ 3.3 cannot take safely (found by fuzz.config): its
/// whitespace test reaches __builtin_unreachable() for U+00A1..U+0499, and it
/// runs that test on every character of a bare value and after the line-ending
/// backslash of a multi-line string. Non-ASCII text is safe only inside strings
/// and comments. So the document is parsed first with every non-ASCII byte
/// replaced by '~' (legal in strings and comments, nowhere else); when that
/// copy does not parse, its error (same lines) is the answer, and the original
/// never reaches toml++.
void check_non_ascii_placement(const std::string& text, const std::string& path,
                               const std::string& where) {
  std::string ascii = text;
  bool any = false;
  for (auto& ch : ascii) {
    if (static_cast<unsigned char>(ch) >= 0x80) {
      ch = '~';
      any = true;
    }
  }
  if (!any) {
    return;
  }
  try {
    (void)toml::parse(ascii, path);
  } catch (const toml::parse_error& e) {
    throw config_error(where + "parse error at line " + std::to_string(e.source().begin.line) + ": " +
                       std::string{e.description()} + " (a character that is not ASCII belongs in a string or comment)");
  }
  // After a line-ending backslash in a multi-line string, whitespace is skipped:
  // the first character after it must be ASCII.
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      continue;
    }
    if (text[i] != '\\') {
      continue;
    }
    auto j = text.find_first_not_of(" \t\r\n", i + 1);
    const bool line_end = text.find('\n', i + 1) < j;
    if (line_end && j != std::string::npos && static_cast<unsigned char>(text[j]) >= 0x80) {
      throw config_error(where + "parse error at line " + std::to_string(line) +
                         ": a line-ending backslash followed by a character that is not ASCII "
                         "(toml++ cannot skip to it safely; write it as \\uXXXX)");
    }
  }
}

void apply_file(config& cfg, const std::string& path) {
  const std::string content = read_file(path);
  const std::string where = "config file '" + path + "': ";
  check_non_ascii_placement(content, path, where);
  toml::table root;
  try {
    root = toml::parse(content, path);
  } catch (const toml::parse_error& e) {
    throw config_error(where + "parse error at line " + std::to_string(e.source().begin.line) + ": " +
                       std::string{e.description()});
  }
  try {
    apply_table(cfg, root);
  } catch (const config_error& e) {
    throw config_error(where + e.what());
  }
}


void apply_environment(config& cfg, const environment& env) {
  for (const auto& entry : env) {
    // Not a structured binding: clang 14 (the sanitized build) cannot capture one in a lambda.
    const std::string& name = entry.first;
    const std::string& text = entry.second;
    if (!name.starts_with("SOLOD_") || non_config_variables.contains(name)) {
      continue;
    }
    const auto def = std::find_if(keys().begin(), keys().end(), [&](const key_def& d) { return env_name(d) == name; });
    if (def == keys().end()) {
      throw config_error("unknown environment variable " + name);
    }
    try {
      // Config strings reach logs, JSON and `config check` output: bytes a
      // TOML file could not hold are refused here too (found by fuzz.config).
      if (!is_valid_utf8(text)) {
        throw config_error("not valid UTF-8");
      }
      const auto value = from_text(text, def->kind);
      if (!value) {
        invalid(def->full_name(), text, def->expected);
      }
      def->set(cfg, *value);
    } catch (const config_error& e) {
      throw config_error("environment variable " + name + ": " + e.what());
    }
  }
}

/// Rules that span keys, checked once file and environment are both applied.
void check_consistency(const config& cfg) {
  if (cfg.server.cert_file.empty() != cfg.server.key_file.empty()) {
    throw config_error("server.cert_file and server.key_file must be set together (cert_file = '" +
                       cfg.server.cert_file + "', key_file = '" + cfg.server.key_file + "')");
  }
}

} // namespace

// -- public interface ---------------------------------------------------------------

environment process_environment() {
  environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text{*entry};
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    env.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

config load_config(const std::string& path, const environment& env) {
  config cfg;
  if (!path.empty()) {
    apply_file(cfg, path);
  } else {
    const std::string default_path = "config/solod.toml";
    std::error_code ec;
    if (std::filesystem::exists(default_path, ec)) {
      apply_file(cfg, default_path);
    }
  }
  apply_environment(cfg, env);
  check_consistency(cfg);
  return cfg;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0) {
    return std::nullopt;
  }
  std::int64_t count = 0;
  if (std::from_chars(text.data(), text.data() + digits, count).ec != std::errc{}) {
    return std::nullopt; // too many digits for 64 bits
  }
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> units = {{
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
  const std::string_view unit = std::string_view{text}.substr(digits);
  for (const auto& [suffix, factor] : units) {
    if (unit == suffix) {
      if (count > std::numeric_limits<std::int64_t>::max() / factor) {
        return std::nullopt;
      }
      return std::chrono::milliseconds{count * factor};
    }
  }
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto count = d.count();
  if (count == 0) {
    return "0s";
  }
  // Days are read but never written: "24h" is how the SPEC writes token_ttl.
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 3> units = {{
      {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}}};
  for (const auto& [suffix, factor] : units) {
    if (count % factor == 0) {
      return std::to_string(count / factor) + std::string{suffix};
    }
  }
  return std::to_string(count) + "ms";
}

std::string render_config(const config& cfg) {
  std::string out = "# solod effective configuration\n";
  for (const auto& section : section_names) {
    out += "\n[" + section + "]\n";
    for (const auto& def : keys()) {
      if (def.section == section) {
        out += def.name + " = " + def.render(cfg) + "\n";
      }
    }
  }
  return out;
}

const std::string& legal_basis_config::of(std::string_view event_type) const {
  for (const auto& [name, member] : legal_basis_fields()) {
    if (name == event_type) {
      return this->*member;
    }
  }
  static const std::string fallback = "legal_obligation";
  return fallback;
}

std::vector<std::pair<std::string, std::string>> legal_basis_config::all() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, member] : legal_basis_fields()) {
    out.emplace_back(name, this->*member);
  }
  return out;
}

} // namespace solod
