#pragma once
/// @brief The two wire protocols the bench speaks: solod's own JSON and Socket.IO v5 (the peers).

#include <string>
#include <string_view>

namespace bench {

/// What an incoming text frame is, as far as the scenarios care.
enum class inbound_kind {
  welcome,       ///< authenticated: {"type":"welcome"} / 42["welcome",..]
  pong,          ///< answer to our ping
  kicked,        ///< the session was ended
  presence,      ///< a presence change
  subscribed,    ///< presence subscription confirmed
  error,         ///< {"type":"error"} / 42["error",..]
  open,          ///< Engine.IO open (socketio): time to send the auth packet
  engine_ping,   ///< Engine.IO ping (socketio): must be answered "3"
  connected,     ///< Socket.IO CONNECT ack (40{"sid":..})
  connect_error, ///< Socket.IO CONNECT_ERROR (44{..}): auth refused
  disconnect,    ///< Socket.IO DISCONNECT (41) or Engine.IO close
  other,
};

/// One classified frame.
struct inbound {
  inbound_kind kind = inbound_kind::other;
  long long id = -1;   ///< pong: the id we sent, when echoed
  bool online = false; ///< presence: status "online" (else "offline")
};

/// How one protocol opens, authenticates, pings and names its messages.
///
/// Classification looks for fields by text (`"type":"pong"`, `"id":7`)
/// instead of parsing JSON: the ping and presence scenarios read hundreds of
/// thousands of frames a second on a machine the server shares. The bench's
/// own traffic never puts such text inside string values.
class protocol {
public:
  virtual ~protocol() = default;

  /// "solod" or "socketio".
  virtual std::string_view name() const = 0;
  /// The WebSocket path and query.
  virtual std::string_view ws_target() const = 0;
  /// True: the token goes in `Authorization: Bearer` at the upgrade.
  virtual bool bearer_at_upgrade() const = 0;
  /// The frame that authenticates after the server's open packet ("" when none).
  virtual std::string auth_message(const std::string& token) const = 0;
  /// One application ping carrying `id`.
  virtual std::string ping(long long id) const = 0;
  /// Subscribes to presence changes.
  virtual std::string subscribe_presence() const = 0;
  /// What `frame` is.
  virtual inbound classify(std::string_view frame) const = 0;
};

/// The protocol called `name` ("solod" or "socketio"); throws usage_error.
const protocol& protocol_named(std::string_view name);

} // namespace bench
