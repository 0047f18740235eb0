#pragma once
/// @brief The server under test: 127.0.0.1:PORT, plain or TLS, and the protocol it speaks.

#include "protocol.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <vector>

namespace bench {

/// Everything a client connection needs to reach the server.
struct target {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host_header;  ///< "127.0.0.1:PORT"
  bool tls = false;
  /// Client TLS without verification (solod's certificate is self-signed); null when plain.
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  const protocol* proto = nullptr;
  std::string user_agent = "solod-bench/1";
};

/// Parses `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. The bench
/// loads only the local machine: any other host is refused (usage_error).
target parse_target(const std::string& url, const std::string& proto_name);

/// The targets of a comma-separated list of such URLs (several nodes of one
/// cluster); `fallback` alone when the list is empty. Throws usage_error.
std::vector<target> parse_targets(const std::string& list, const std::string& proto_name,
                                  const target& fallback);

} // namespace bench
