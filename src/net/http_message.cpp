#include "net/http_message.hpp"

#include "util/json_text.hpp"
#include "util/utf8.hpp"

#include <nlohmann/json.hpp>

#include <strings.h>

namespace solod {

const std::string& http_request::header(std::string_view name) const {
  static const std::string empty;
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) {
      return v;
    }
  }
  return empty;
}

std::string http_request::header_list(std::string_view name) const {
  std::string out;
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) {
      if (!out.empty()) {
        out += ", ";
      }
      out += v;
    }
  }
  return out;
}

std::string safe_header_value(std::string_view name, std::string_view value) {
  constexpr std::string_view user_agent = "User-Agent";
  const bool is_user_agent = name.size() == user_agent.size() &&
                             strncasecmp(name.data(), user_agent.data(), name.size()) == 0;
  return sanitize_utf8(value, is_user_agent ? user_agent_max_bytes : std::string::npos);
}

http_response error_response(unsigned status, const std::string& code, const std::string& message) {
  nlohmann::json body{{"error", code}, {"message", message}};
  return json_response(status, to_json_text(body));
}

http_response json_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

} // namespace solod
