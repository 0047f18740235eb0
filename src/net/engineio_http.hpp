#pragma once
/// @brief Where `/socket.io/` requests enter: the long-polling transport, and the checks before a websocket.

#include "actors/connection_actor.hpp"
#include "net/http_message.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace solod {

class engineio_session;
struct net_context;

/// The path every Engine.IO request names (socket.io-client's default `path`).
inline constexpr std::string_view engineio_path = "/socket.io/";

/// True for a request target under engineio_path.
bool is_engineio_target(std::string_view target);

/// Serves one long-polling request (`transport=polling`): GET without a sid
/// opens a session (the answer is its open packet; the cookie or bearer
/// token is kept for the Socket.IO CONNECT); GET with a sid long-polls, POST
/// with a sid brings packets. Refused with the SPEC's error JSON: a foreign
/// Origin (403), `EIO` other than 4 or an unknown transport (400), a sid
/// this node does not hold (400 `unknown_sid`: ended, or another node's,
/// see README on sticky sessions), too many sessions (503). `home` is the
/// connection's executor: a new session's ping timer runs there.
void serve_engineio_polling(const net_context& ctx, const http_request& req,
                            boost::asio::any_io_executor home, responder respond);

/// What a websocket upgrade to engineio_path may become: refused with a
/// response, or accepted, for a new session (null) or as the upgrade of one.
using engineio_upgrade = std::variant<http_response, std::shared_ptr<engineio_session>>;

/// Checks a websocket upgrade to engineio_path (Origin, EIO=4,
/// transport=websocket, a known sid when one is named).
engineio_upgrade check_engineio_upgrade(const net_context& ctx, const http_request& req);

/// A Socket.IO connection's description from its opening request.
connection_info engineio_connection_info(const http_request& req, std::string transport);

} // namespace solod
