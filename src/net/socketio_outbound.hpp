#pragma once
/// @brief An outbound `/ws` text as the Engine.IO message packets of the
/// Socket.IO events it stands for, translated once per text, not per socket.

#include "actors/ws_sink.hpp"

#include <memory>
#include <string>
#include <vector>

namespace solod {

/// The Engine.IO packets (`4` + Socket.IO packet) for `text`. A presence
/// change reaches every Socket.IO socket as the same ws_text: the JSON is
/// parsed and the events encoded for the first socket, and the others reuse
/// that (the last few texts are remembered while they are alive).
std::shared_ptr<const std::vector<std::string>> socketio_outbound(const ws_text& text);

} // namespace solod
