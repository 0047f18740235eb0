#pragma once
/// @brief One WebSocket (`GET /ws`), plain or TLS, bridged to its connection actor.

#include "actors/connection_actor.hpp"
#include "net/connection_limiter.hpp"
#include "net/tls_stream.hpp"

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace solod {

struct net_context;

/// The upgrade request that opened a WebSocket.
using upgrade_request = boost::beast::http::request<boost::beast::http::string_body>;

/// Completes the handshake on a plain stream and runs the session: frames in
/// go to a new connection actor, whose messages come back through the
/// session's queue (one write outstanding at a time, on the stream's io thread).
/// The session holds `slot` (the socket's place under the connection caps)
/// until it ends.
void start_websocket_session(boost::beast::tcp_stream stream, upgrade_request req,
                             const net_context& ctx, connection_info info, std::string token,
                             connection_slot slot);

/// The same over TLS.
void start_websocket_session(tls_stream stream,
                             upgrade_request req, const net_context& ctx, connection_info info,
                             std::string token, connection_slot slot);

} // namespace solod
