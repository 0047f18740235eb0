#pragma once
/// @brief One client WebSocket: connect, (TLS), upgrade, authenticate, then frames until it closes.

#include "protocol.hpp"
#include "target.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace bench {

class ws_client;

/// How a connection ended.
struct close_info {
  std::uint16_t code = 0;  ///< the peer's close code; 0 when the stream broke without one
  std::string reason;      ///< close reason, or the error text
  bool before_ready = false; ///< it never authenticated
  std::int64_t at_ns = 0;  ///< when the close frame (or error) was read
};

/// What a scenario hears from its connections; every call runs on the
/// connection's io_context thread. The connection is passed by reference and
/// stays valid during the call.
class ws_listener {
public:
  virtual ~ws_listener() = default;
  /// Authenticated: the welcome arrived.
  virtual void on_ready(ws_client& c) {}
  /// Any frame after the welcome (protocol housekeeping such as Engine.IO pings is answered inside).
  virtual void on_message(ws_client& c, const inbound& m, std::string_view frame) {}
  /// Closed by either side, refused, or broken; called once.
  virtual void on_closed(ws_client& c, const close_info& info) {}
};

/// A listener for connections the scenario only opens and holds.
class quiet_listener final : public ws_listener {};

/// A listener that subscribes every connection to presence as soon as it is
/// ready (--subscribe): the load every Socket.IO socket carries unasked (SPEC
/// §8), for like-for-like `/ws` figures.
class subscribing_listener final : public ws_listener {
public:
  explicit subscribing_listener(const protocol& p) : proto_(p) {}
  void on_ready(ws_client& c) override;

private:
  const protocol& proto_;
};

/// A client WebSocket over plain TCP or TLS. Single-threaded: everything,
/// including send and close, runs on one io_context thread; at most one
/// write is outstanding, the rest queue.
class ws_client {
public:
  virtual ~ws_client() = default;

  /// Connects and authenticates with `token`; the listener hears on_ready or on_closed.
  virtual void start(std::string token) = 0;
  /// Queues one text frame (dropped once closing).
  virtual void send(std::string text) = 0;
  /// Sends a close frame after what is queued; on_closed follows when the server answers.
  virtual void close(std::uint16_t code = 1000) = 0;

  bool ready() const { return ready_; }
  bool closed() const { return closed_; }

  std::size_t index = 0;       ///< the scenario's number for this connection
  std::int64_t started_ns = 0; ///< start() called
  std::int64_t ready_ns = 0;   ///< welcome read

protected:
  bool ready_ = false;
  bool closed_ = false;
};

/// A new connection to `t` reporting to `listener` (which must outlive it); call start().
std::shared_ptr<ws_client> make_ws_client(boost::asio::io_context& ioc, const target& t,
                                          ws_listener& listener, std::size_t index);

} // namespace bench
