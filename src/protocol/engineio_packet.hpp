#pragma once
/// @brief Engine.IO protocol 4 packets and HTTP long-polling payloads: parsing and encoding, nothing else.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// The packet types of Engine.IO 4, by their digit on the wire.
enum class eio_type { open = 0, close = 1, ping = 2, pong = 3, message = 4, upgrade = 5, noop = 6 };

/// One Engine.IO text packet: its type and what follows the type digit.
struct eio_packet {
  eio_type type = eio_type::noop;
  std::string_view data; ///< a view into the parsed text
};

/// A parsed packet, or why the text is not one (`error` says it for the client).
struct eio_parse_result {
  std::optional<eio_packet> packet;
  std::string error;
};

/// Parses one text packet. A base64 binary packet (`b...`) and anything that
/// does not start with a type digit 0-6 are errors: solod takes text only.
eio_parse_result parse_eio_packet(std::string_view text);

/// The record separator between the packets of one long-polling body.
inline constexpr char eio_separator = '\x1e';

/// Splits a long-polling body into its packets (views into `body`). An empty
/// body is no packet; an empty packet between two separators is kept (and
/// refused by parse_eio_packet).
std::vector<std::string_view> split_eio_payload(std::string_view body);

/// Joins encoded packets into one long-polling body.
std::string join_eio_payload(const std::vector<std::string_view>& packets);

/// `type` followed by `data`, as one encoded packet.
std::string encode_eio(eio_type type, std::string_view data = {});

} // namespace solod
