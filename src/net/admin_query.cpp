#include "net/admin_query.hpp"

#include "util/time_format.hpp"

#include <charconv>

namespace solod::admin_query {

http_response unavailable() {
  return error_response(503, "unavailable", "database unavailable").with_header("Retry-After", "1");
}

http_response bad_input(const std::string& message) {
  return error_response(400, "invalid_input", message);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

std::optional<std::size_t> parse_limit(const params& p, std::size_t fallback, std::size_t max) {
  auto it = p.find("limit");
  if (it == p.end() || it->second.empty()) {
    return fallback;
  }
  auto v = parse_int(it->second);
  if (!v || *v < 1 || static_cast<std::size_t>(*v) > max) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(*v);
}

bool parse_time(const params& p, const char* key, std::optional<time_point>& out) {
  auto it = p.find(key);
  if (it == p.end() || it->second.empty()) {
    return true;
  }
  out = parse_iso8601(it->second);
  return out.has_value();
}

std::string param(const params& p, const char* key) {
  auto it = p.find(key);
  return it == p.end() ? "" : it->second;
}

} // namespace solod::admin_query
