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

  /// Sends what is queued, then a close frame with `code`; later sends are dropped.
  virtual void close(std::uint16_t code, std::string reason) = 0;

  /// Drops the TCP connection at once (a peer that ignored our close frame).
  virtual void abort() = 0;
};

/// Builds a ws_text from a string.
inline ws_text make_ws_text(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

} // namespace solod
