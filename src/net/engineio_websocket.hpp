#pragma once
/// @brief The `websocket` transport of `/socket.io/`: Engine.IO packets as WebSocket text frames, plain or TLS.

#include "net/connection_limiter.hpp"
#include "net/websocket_session.hpp"

#include <boost/beast/core/tcp_stream.hpp>

#include <memory>
#include <string>

namespace solod {

class engineio_session;
struct net_context;

/// Completes the handshake on `stream` and carries one Engine.IO session's
/// packets: a new session (`upgrade_of` null; it rides on this socket from
/// its open packet on) or, for an upgrade, the session `upgrade_of` names
/// (the socket probes, then takes over from polling). `info` and `token`
/// describe a new session's client. The socket holds `slot` until it ends.
void start_engineio_websocket(boost::beast::tcp_stream stream, upgrade_request req,
                              const net_context& ctx, connection_info info, std::string token,
                              connection_slot slot, std::shared_ptr<engineio_session> upgrade_of);

/// The same over TLS.
void start_engineio_websocket(tls_stream stream,
                              upgrade_request req, const net_context& ctx, connection_info info,
                              std::string token, connection_slot slot,
                              std::shared_ptr<engineio_session> upgrade_of);

} // namespace solod
