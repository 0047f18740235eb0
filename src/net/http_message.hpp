#pragma once
/// @brief Beast-free HTTP request and response, so handlers compile without Beast.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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
  /// Becomes true when the client hangs up before its answer (null outside a session).
  std::shared_ptr<const std::atomic<bool>> client_gone;

  /// The first header named `name` (case-insensitive), or "".
  const std::string& header(std::string_view name) const;
  /// Every header line named `name`, in order, joined with ", " (RFC 9110
  /// §5.3: several lines of a list header are one comma-separated list).
  std::string header_list(std::string_view name) const;
};

/// The longest User-Agent solod keeps, in bytes (cut at a character boundary).
inline constexpr std::size_t user_agent_max_bytes = 512;

/// A header value as solod keeps it from the wire: valid UTF-8 with invalid
/// sequences and controls as U+FFFD (util/utf8), and a User-Agent cut to
/// `user_agent_max_bytes`. Every header a handler sees went through here.
std::string safe_header_value(std::string_view name, std::string_view value);

/// Writes a response body in pieces (chunked transfer), for bodies too big to
/// hold in memory. Callable from any thread; one write at a time.
class chunk_sink {
public:
  virtual ~chunk_sink() = default;
  /// Sends `data` as one chunk; `written(ok)` runs once it is on the wire
  /// (ok = false: the client is gone, stop producing).
  virtual void write(std::string data, std::function<void(bool ok)> written) = 0;
  /// Ends the body; the connection goes on with the next request.
  virtual void finish() = 0;
  /// Gives up: closes the connection, so the client sees a cut-off transfer
  /// (no final chunk) rather than a body that looks complete.
  virtual void abort() = 0;
};

/// An HTTP response a handler produces.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false; ///< close the connection after sending
  /// When set, `body` is ignored: the header goes out with chunked encoding
  /// and `stream` is called with the sink that takes the body's pieces.
  std::function<void(std::shared_ptr<chunk_sink>)> stream;

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
