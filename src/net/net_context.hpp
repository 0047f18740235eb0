#pragma once
/// @brief What every network session shares: limits, TLS, the router, metrics.

#include "config/config.hpp"
#include "net/engineio_registry.hpp"
#include "net/proxy_trust.hpp"

#include <boost/asio/ssl/context.hpp>

#include <caf/fwd.hpp>

#include <chrono>
#include <memory>

namespace solod {

class api_router;
class connection_limiter;
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
  /// Caps accepted sockets, in all and per address.
  connection_limiter* limiter = nullptr;
  /// A client must send a whole request in this time, and the next one of a
  /// kept-alive connection within it too (server.header_timeout).
  std::chrono::milliseconds header_timeout{10'000};
  /// A TLS handshake (from the first byte) and a WebSocket upgrade or close
  /// handshake must finish in this time (server.handshake_timeout).
  std::chrono::milliseconds handshake_timeout{10'000};
  /// Each response write (or chunk) must be taken by the client in this time.
  std::chrono::milliseconds write_timeout{30'000};

  // -- WebSockets --------------------------------------------------------------
  ws_tracker* websockets = nullptr;
  caf::actor_system* actors_system = nullptr;
  const connection_context* connections = nullptr;
  /// Silence after which a WebSocket is closed; it is pinged at half of it.
  std::chrono::milliseconds ws_idle_timeout{60'000};
  /// Outbound bytes one WebSocket may have queued before it counts as a slow consumer.
  std::size_t ws_max_queued_bytes = 1 << 20;

  // -- Socket.IO (/socket.io/) ------------------------------------------------------
  /// The Engine.IO sessions of this node, by sid (polling requests and upgrades find them here).
  std::shared_ptr<engineio_registry> engineio = std::make_shared<engineio_registry>();
};

} // namespace solod
