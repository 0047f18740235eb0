#pragma once
/// @brief Engine.IO v4 / Socket.IO v5 text packets over WebSocket: the few the bench sends and reads.
///
/// One WebSocket text frame is one Engine.IO packet: a type digit
/// (0 open, 1 close, 2 ping, 3 pong, 4 message, 6 noop) and its data. A
/// message carries one Socket.IO packet: a type digit (0 CONNECT,
/// 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR), an optional `/namespace,`,
/// an optional ack id, then JSON. Examples: `0{"sid":..}` (open),
/// `40{"token":"T"}` (connect to "/" with auth), `42["ping",{"id":1}]`.

#include <string>
#include <string_view>

namespace bench::socketio {

/// Engine.IO packet types.
enum class engine_type { open, close, ping, pong, message, upgrade, noop, invalid };

/// Socket.IO packet types (inside an Engine.IO message).
enum class packet_type { connect, disconnect, event, ack, connect_error, binary_event, binary_ack, none };

/// One decoded frame; views point into the frame's text.
struct packet {
  engine_type engine = engine_type::invalid;
  packet_type type = packet_type::none; ///< when engine == message
  std::string_view nsp = "/";
  std::string_view data;                ///< JSON after the header ("" when none)
  std::string_view event;               ///< for events: the name, first element of the array
};

/// Decodes one WebSocket text frame.
packet decode(std::string_view frame);

/// `40` + auth JSON: connect to the default namespace.
std::string connect_packet(std::string_view auth_json);

/// `42["name",data_json]`: an event to the default namespace.
std::string event_packet(std::string_view name, std::string_view data_json);

/// The Engine.IO pong that answers the server's ping ("2" -> "3").
inline constexpr std::string_view engine_pong = "3";

} // namespace bench::socketio
