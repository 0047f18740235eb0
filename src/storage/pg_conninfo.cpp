#include "storage/pg_conninfo.hpp"

#include "storage/database.hpp"
#include "util/hex.hpp"

#include <algorithm>
#include <string_view>

namespace solod {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw database_error("database.url: " + what);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// libpq keywords are lower-case words with underscores.
bool is_keyword(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

/// RFC 3986 percent-decoding as libpq does it: a bad escape or %00 is an error.
/// `part` names the URI part for the message (never its value: it may be a password).
std::string percent_decode(std::string_view text, const char* part) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      fail(std::string("invalid percent escape in the ") + part + " (expected %XX with two hex digits)");
    }
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') {
      fail(std::string("%00 in the ") + part);
    }
    out += c;
    i += 2;
  }
  return out;
}

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const int port = std::stoi(std::string(s));
  return port >= 1 && port <= 65535;
}

/// libpq's key/value syntax: `key = value`, values bare (backslash escapes the
/// next character) or single-quoted (backslash escapes inside too).
pg_conninfo parse_key_values(std::string_view s) {
  pg_conninfo out;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < s.size() && is_space(s[i])) {
      ++i;
    }
  };
  while (true) {
    skip_space();
    if (i == s.size()) {
      return out;
    }
    const auto key_start = i;
    while (i < s.size() && s[i] != '=' && !is_space(s[i])) {
      ++i;
    }
    const std::string key(s.substr(key_start, i - key_start));
    if (!is_keyword(key)) {
      fail("'" + key + "' is not a connection keyword (key/value form: host=... port=... dbname=...)");
    }
    skip_space();
    if (i == s.size() || s[i] != '=') {
      fail("missing '=' after " + key);
    }
    ++i;
    skip_space();
    std::string value;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      bool closed = false;
      for (; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          value += s[++i];
        } else if (s[i] == '\'') {
          closed = true;
          ++i;
          break;
        } else {
          value += s[i];
        }
      }
      if (!closed) {
        fail("unterminated quoted value of " + key);
      }
    } else {
      for (; i < s.size() && !is_space(s[i]); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          ++i;
        }
        value += s[i];
      }
    }
    if (value.find('\0') != std::string::npos) {
      fail("a NUL byte in the value of " + key);
    }
    out.params.emplace_back(key, std::move(value));
  }
}

/// One `HOST[:PORT]` of the host list; IPv6 addresses in brackets.
void parse_host(std::string_view spec, std::vector<std::string>& hosts, std::vector<std::string>& ports) {
  std::string_view host = spec;
  std::string_view port;
  bool has_port = false;
  if (!spec.empty() && spec.front() == '[') {
    const auto close = spec.find(']');
    if (close == std::string_view::npos) {
      fail("an IPv6 host without its closing ']'");
    }
    host = spec.substr(1, close - 1);
    if (host.empty()) {
      fail("an empty IPv6 host '[]'");
    }
    const auto after = spec.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        fail("unexpected text after an IPv6 host (expected :PORT)");
      }
      port = after.substr(1);
      has_port = true;
    }
  } else if (const auto colon = spec.find(':'); colon != std::string_view::npos) {
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
    has_port = true;
    if (port.find(':') != std::string_view::npos) {
      fail("an IPv6 host must be written in brackets, such as [::1]:5432");
    }
  }
  if (has_port && !is_port(port)) {
    fail("invalid port '" + std::string(port) + "' (expected 1 to 65535)");
  }
  hosts.push_back(percent_decode(host, "host"));
  ports.emplace_back(port);
}

/// `[USER[:PASSWORD]@][HOSTS][/DBNAME][?PARAMS]`, as libpq reads a URI.
pg_conninfo parse_uri(std::string_view s) {
  pg_conninfo out;
  // Credentials end at '@'; a '/' or '?' first means there are none.
  const auto cred_end = s.find_first_of("@/?");
  if (cred_end != std::string_view::npos && s[cred_end] == '@') {
    const auto userinfo = s.substr(0, cred_end);
    const auto colon = userinfo.find(':');
    const auto user = percent_decode(userinfo.substr(0, colon), "user name");
    if (!user.empty()) {
      out.params.emplace_back("user", user);
    }
    if (colon != std::string_view::npos) {
      out.params.emplace_back("password", percent_decode(userinfo.substr(colon + 1), "password"));
    }
    s.remove_prefix(cred_end + 1);
  }
  const auto host_end = s.find_first_of("/?");
  const auto host_list = s.substr(0, host_end);
  s.remove_prefix(host_end == std::string_view::npos ? s.size() : host_end);
  if (!host_list.empty()) {
    std::vector<std::string> hosts, ports;
    std::size_t start = 0;
    while (true) {
      const auto comma = host_list.find(',', start);
      parse_host(host_list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start),
                 hosts, ports);
      if (comma == std::string_view::npos) {
        break;
      }
      start = comma + 1;
    }
    auto joined = [](const std::vector<std::string>& items) {
      std::string text;
      for (std::size_t i = 0; i < items.size(); ++i) {
        text += (i ? "," : "") + items[i];
      }
      return text;
    };
    if (std::any_of(hosts.begin(), hosts.end(), [](const std::string& h) { return !h.empty(); })) {
      out.params.emplace_back("host", joined(hosts));
    }
    if (std::any_of(ports.begin(), ports.end(), [](const std::string& p) { return !p.empty(); })) {
      out.params.emplace_back("port", joined(ports));
    }
  }
  if (!s.empty() && s.front() == '/') {
    const auto end = s.find('?');
    const auto dbname = percent_decode(s.substr(1, end == std::string_view::npos ? end : end - 1), "database name");
    if (!dbname.empty()) {
      out.params.emplace_back("dbname", dbname);
    }
    s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  }
  if (s.empty()) {
    return out;
  }
  s.remove_prefix(1); // '?'
  while (!s.empty()) {
    const auto amp = s.find('&');
    const auto item = s.substr(0, amp);
    s.remove_prefix(amp == std::string_view::npos ? s.size() : amp + 1);
    if (item.empty()) {
      continue;
    }
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      fail("a query parameter without '=' (expected NAME=VALUE)");
    }
    auto key = percent_decode(item.substr(0, eq), "query parameter name");
    auto value = percent_decode(item.substr(eq + 1), "query parameter value");
    if (!is_keyword(key)) {
      fail("'" + key + "' is not a connection keyword");
    }
    if (key == "ssl" && value == "true") { // JDBC's spelling, which libpq accepts too
      key = "sslmode";
      value = "require";
    }
    out.params.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

/// Key/value text starts with `keyword =`; a URI never does (its '=' come after '?').
bool looks_like_key_values(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_space(s[i])) {
    ++i;
  }
  const auto start = i;
  while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_')) {
    ++i;
  }
  if (i == start) {
    return false;
  }
  while (i < s.size() && is_space(s[i])) {
    ++i;
  }
  return i < s.size() && s[i] == '=';
}

} // namespace

std::string pg_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

pg_conninfo pg_conninfo::parse(const std::string& body) {
  return looks_like_key_values(body) ? parse_key_values(body) : parse_uri(body);
}

std::string pg_conninfo::get(const std::string& keyword) const {
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    if (it->first == keyword) {
      return it->second;
    }
  }
  return {};
}

void pg_conninfo::set(const std::string& keyword, const std::string& value) {
  erase(keyword);
  params.emplace_back(keyword, value);
}

void pg_conninfo::erase(const std::string& keyword) {
  std::erase_if(params, [&](const auto& p) { return p.first == keyword; });
}

std::string pg_conninfo::to_string() const {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.find('\0') != std::string::npos) {
      fail("a NUL byte in the value of " + key);
    }
    if (std::any_of(value.begin(), value.end(), is_space)) {
      fail("the value of " + key +
           " contains whitespace, which SOCI 4.0 cannot pass to libpq (it splits the connection string at "
           "whitespace)");
    }
    out += (out.empty() ? "" : " ") + key + "=" + pg_quote(value);
  }
  return out;
}

} // namespace solod
