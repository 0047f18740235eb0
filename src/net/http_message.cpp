#include "net/http_message.hpp"

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

http_response error_response(unsigned status, const std::string& code, const std::string& message) {
  nlohmann::json body{{"error", code}, {"message", message}};
  return json_response(status, body.dump());
}

http_response json_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

} // namespace solod
