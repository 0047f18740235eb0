#pragma once
/// @brief One client TCP connection speaking HTTP/1.1, plain or TLS (detected per connection).

#include "net/connection_limiter.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace solod {

struct net_context;

/// Serves `socket`: detects TLS by its first bytes (tls = auto), or expects
/// TLS only (required) or plain only (off), then reads requests with bounded
/// headers, bodies and time, and hands each to the router. `slot` is the
/// socket's place under the connection caps, held until it closes (a
/// WebSocket takes it over); `peer` is the peer's address.
void start_http_session(boost::asio::ip::tcp::socket socket, const net_context& ctx,
                        connection_slot slot, std::string peer);

} // namespace solod
