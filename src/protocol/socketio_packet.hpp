#pragma once
/// @brief Socket.IO protocol 5 packets: parsing (bounded, for hostile input) and encoding.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// The packet types of Socket.IO 5, by their digit on the wire.
enum class sio_type {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6
};

/// One Socket.IO packet as it came in.
struct sio_packet {
  sio_type type = sio_type::event;
  std::string nsp = "/";               ///< the namespace
  std::optional<std::uint64_t> ack_id; ///< set when the sender waits for an ack
  nlohmann::json data;                 ///< null when the packet has no payload
  bool has_data = false;
};

/// A parsed packet, or why the text is not one (`error` says it for the client).
struct sio_parse_result {
  std::optional<sio_packet> packet;
  std::string error;
};

/// Limits the parser holds every packet to.
inline constexpr std::size_t sio_max_nesting = 32;      ///< JSON arrays/objects inside each other
inline constexpr std::size_t sio_max_namespace = 128;   ///< bytes of a namespace name
inline constexpr std::size_t sio_max_ack_digits = 15;   ///< an ack id stays an exact JS number

/// Parses one packet (the data of an Engine.IO message packet). Refused with
/// a reason: an unknown type, a namespace without its comma or too long, an
/// ack id of more than 15 digits, JSON that is malformed, nested deeper than
/// 32 or not of the type's shape (EVENT: an array starting with a string
/// name; ACK: an array; CONNECT: an object if any; DISCONNECT: nothing).
/// Binary packets parse (so that the caller can refuse them by name) with
/// their JSON left out.
sio_parse_result parse_sio_packet(std::string_view text);

/// `2["name",payload]` (payload left out when null).
std::string encode_sio_event(std::string_view name, const nlohmann::json& payload);

/// `3<id>[payload]`.
std::string encode_sio_ack(std::uint64_t id, const nlohmann::json& payload);

/// `0{"sid":"..."}`: the namespace is joined.
std::string encode_sio_connect(std::string_view sid);

/// `4[nsp,]{"message":...,"data":...}` (data left out when null).
std::string encode_sio_connect_error(std::string_view nsp, std::string_view message,
                                     const nlohmann::json& data = nullptr);

/// `1`: the server leaves the default namespace (the client sees "io server disconnect").
std::string encode_sio_disconnect();

/// The record separator that may join several Socket.IO packets in one
/// outbound text (JSON never holds it raw: control characters are escaped).
inline constexpr char sio_joiner = '\x1e';

/// What a connection's outbound text becomes for a Socket.IO client, as
/// Socket.IO packets. Text that is already Socket.IO (it starts with a type
/// digit) is split at sio_joiner. A `/ws` JSON message (from presence or a
/// delivery, which serialize once for every kind of client) is translated:
/// `presence` -> `user_status {user,status}` and `user_count {count}`;
/// `message` -> `message {from,text,at}`; `kicked` -> `kicked {reason,by?}`;
/// `error` -> `error {code,message}`; `subscribed` -> nothing; any other
/// type -> an event of that name with the other fields.
std::vector<std::string> socketio_packets_of(std::string_view text);

} // namespace solod
