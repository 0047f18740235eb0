#pragma once
/// @brief Beast-free HTTP request and response, so handlers compile without Beast.

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace solod {

/// An HTTP request as handlers see it.
struct http_request {
  std::string method; ///< "GET", "POST", ...
  std::string target; ///< path and query, as sent
  std::string path;   ///< target without the query
  std::string query;  ///< after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string client_ip; ///< after trusted X-Forwarded-For
  bool secure = false;   ///< arrived over TLS

  /// The first header named `name` (case-insensitive), or "".
  const std::string& header(std::string_view name) const;
};

/// An HTTP response a handler produces.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false; ///< close the connection after sending

  /// Adds a header.
  http_response& with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

/// Hands a response back to the connection; callable from any thread, once.
using responder = std::function<void(http_response)>;

/// Builds the SPEC's error body `{"error": code, "message": message}`.
http_response error_response(unsigned status, const std::string& code, const std::string& message);

/// Builds a JSON response from serialized JSON text.
http_response json_response(unsigned status, std::string body);

} // namespace solod
