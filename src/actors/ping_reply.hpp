#pragma once
/// @brief The answer to a client's `ping` (SPEC §4): `{type:"pong", id, server_time}`.

#include "util/clock.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace solod {

/// The pong for a ping carrying `id` (null when the ping had none).
std::string pong_text(const nlohmann::json& id, time_point now);

/// The pong when `frame` is a ping (a JSON object with "type":"ping");
/// nothing for any other frame, well-formed or not.
std::optional<std::string> pong_for_frame(const std::string& frame, time_point now);

/// The answer to a Socket.IO `ping_manual` (SPEC §8) when `packet` is one, an
/// EVENT on the default namespace: `pong_manual {server_time}`, joined (by
/// sio_joiner) with the ACK when the event asked for one. Nothing for any
/// other packet, well-formed or not.
std::optional<std::string> pong_manual_for_packet(std::string_view packet, time_point now);

} // namespace solod
