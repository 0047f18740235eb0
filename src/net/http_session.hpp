#pragma once
/// @brief One client TCP connection speaking HTTP/1.1, plain or TLS (detected per connection).

#include <boost/asio/ip/tcp.hpp>

namespace solod {

struct net_context;

/// Serves `socket`: detects TLS by its first bytes (tls = auto), or expects
/// TLS only (required) or plain only (off), then reads requests with bounded
/// headers, bodies and time, and hands each to the router.
void start_http_session(boost::asio::ip::tcp::socket socket, const net_context& ctx);

} // namespace solod
