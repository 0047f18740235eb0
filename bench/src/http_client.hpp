#pragma once
/// @brief A keep-alive HTTP/1.1 client for JSON POSTs (logins), plain or TLS, one request at a time.

#include "target.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace bench {

/// The answer to one request.
struct http_result {
  unsigned status = 0;      ///< 0 when no answer came (error says why)
  std::string body;
  std::string error;
  std::int64_t sent_ns = 0; ///< the request was handed to the socket (connection included)
  std::int64_t done_ns = 0; ///< the whole response was read
};

/// One keep-alive connection; reconnects when the server closed it. Single-threaded.
class http_client {
public:
  virtual ~http_client() = default;
  /// POSTs `body` as application/json to `path`; `done` runs with the answer (30 s cap).
  virtual void post_json(std::string path, std::string body, std::function<void(http_result)> done) = 0;
};

/// A client for `t` (it must outlive the client).
std::shared_ptr<http_client> make_http_client(boost::asio::io_context& ioc, const target& t);

/// What a login gave.
struct login_result {
  unsigned status = 0;
  std::string token;        ///< on 200
  std::string error;        ///< transport error or the error body
  std::int64_t sent_ns = 0;
  std::int64_t done_ns = 0;
};

/// POST /api/login {username, password} (solod and the peers alike).
void login(http_client& client, const std::string& username, const std::string& password,
           std::function<void(login_result)> done);

} // namespace bench
