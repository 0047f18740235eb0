#pragma once
/// @brief The outbound side of one WebSocket, as actors see it: thread-safe, never blocking.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace solod {

/// A shared, immutable outbound message: one serialization serves every receiver.
using ws_text = std::shared_ptr<const std::string>;

/// Where actors put messages for one WebSocket. Every call only posts to the
/// connection's io thread and returns; the session queues and writes in order.
class ws_sink {
public:
  virtual ~ws_sink() = default;

  /// Queues one text message.
  virtual void send(ws_text text) = 0;

  /// Queues several messages with one hand-off (presence fan-out).
  virtual void send_batch(std::shared_ptr<const std::vector<ws_text>> texts) = 0;

  /// Sends what is queued, then `last` (when not null), then a close frame
  /// with `code`, in one step: nothing sent from another thread can come
  /// between `last` and the close. Later sends are dropped.
  virtual void close(ws_text last, std::uint16_t code, std::string reason) = 0;

  /// Drops the TCP connection at once (a peer that ignored our close frame).
  virtual void abort() = 0;

  /// The connection is authenticated and attached: queues `welcome`, and from
  /// then on the session answers `ping` itself, on its network thread,
  /// without the round trip through the connection actor (the hot path of a
  /// busy server). One hand-off for both.
  virtual void go_live(ws_text welcome) = 0;
};

/// Builds a ws_text from a string.
inline ws_text make_ws_text(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

} // namespace solod
