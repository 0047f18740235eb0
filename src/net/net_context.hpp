#pragma once
/// @brief What every network session shares: limits, TLS, the router, metrics.

#include "config/config.hpp"
#include "net/proxy_trust.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>

namespace solod {

class api_router;
struct metrics;

/// Read-only state of the network layer, owned by the server.
struct net_context {
  const config* cfg = nullptr;
  const api_router* router = nullptr;
  metrics* stats = nullptr;
  std::shared_ptr<boost::asio::ssl::context> tls; ///< null when tls = off
  proxy_trust proxies{{}};
  std::size_t header_limit = 8 * 1024;
  /// A client must send a whole request (or finish the TLS handshake) in this time.
  std::chrono::seconds read_timeout{30};
};

} // namespace solod
