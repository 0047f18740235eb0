#pragma once
/// @brief What every network session shares: limits, TLS, the router, metrics.

#include "config/config.hpp"
#include "net/proxy_trust.hpp"

#include <boost/asio/ssl/context.hpp>

#include <caf/fwd.hpp>

#include <chrono>
#include <memory>

namespace solod {

class api_router;
class ws_tracker;
struct connection_context;
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

  // -- WebSockets --------------------------------------------------------------
  ws_tracker* websockets = nullptr;
  caf::actor_system* actors_system = nullptr;
  const connection_context* connections = nullptr;
  /// Silence after which a WebSocket is closed; it is pinged at half of it.
  std::chrono::seconds ws_idle_timeout{60};
  /// Outbound bytes one WebSocket may have queued before it counts as a slow consumer.
  std::size_t ws_max_queued_bytes = 1 << 20;
};

} // namespace solod
