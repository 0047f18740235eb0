#pragma once
/// @brief The answer to a client's `ping` (SPEC §4): `{type:"pong", id, server_time}`.

#include "util/clock.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>

namespace solod {

/// The pong for a ping carrying `id` (null when the ping had none).
std::string pong_text(const nlohmann::json& id, time_point now);

/// The pong when `frame` is a ping (a JSON object with "type":"ping");
/// nothing for any other frame, well-formed or not.
std::optional<std::string> pong_for_frame(const std::string& frame, time_point now);

} // namespace solod
