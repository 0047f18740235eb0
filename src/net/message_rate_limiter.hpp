#pragma once
/// @brief The inbound message budget of one WebSocket: a flood is warned once, then closed.

namespace solod {

/// Counts a connection's messages in one-second windows. Within `limit` a
/// message passes; the first over it is answered with a warning and not
/// served; the rest are dropped; one over twice the limit closes the
/// connection (1008). Pure: the caller passes the time.
class message_rate_limiter {
public:
  /// What to do with the message just counted.
  enum class verdict { pass, warn, drop, close };

  /// `limit` messages per second (limits.ws_messages_per_second).
  explicit message_rate_limiter(int limit) : limit_(limit) {}

  /// Counts one message arriving at `now_ms` (any monotonic milliseconds).
  verdict on_message(long long now_ms);

  int limit() const { return limit_; }

private:
  int limit_;
  long long window_start_ms_ = 0;
  int window_count_ = 0;
  bool started_ = false;
};

} // namespace solod
