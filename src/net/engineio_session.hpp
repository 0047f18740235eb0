#pragma once
/// @brief One Engine.IO 4 connection of `/socket.io/`: its packets, pings and transports, bridged to a connection actor.

#include "actors/connection_actor.hpp"
#include "actors/ws_sink.hpp"
#include "net/connection_limiter.hpp"
#include "net/http_message.hpp"
#include "net/message_rate_limiter.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <caf/actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace solod {

struct net_context;

/// One encoded Engine.IO packet, shared: a presence change queues the same
/// packets for every socket (see socketio_outbound), not a copy each.
using eio_frame = std::shared_ptr<const std::string>;

/// A WebSocket that carries Engine.IO packets, one per text frame (net/engineio_websocket).
/// Its calls only post to the socket's io thread.
class eio_socket {
public:
  virtual ~eio_socket() = default;
  /// Queues `packets`, one frame each.
  virtual void write(std::vector<eio_frame> packets) = 0;
  /// Sends what is queued, then a close frame with `code`.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// Drops the connection at once, without a close handshake.
  virtual void abort() = 0;
};

/// The server side of one Engine.IO session. Its connection actor (a
/// Socket.IO codec, see spawn_connection_actor) sees it as its ws_sink: every
/// outbound text becomes Socket.IO packets (socketio_packets_of), each framed
/// as an Engine.IO message. Packets wait in a queue for the transport: a
/// pending long-poll GET takes them all (joined by 0x1e), a websocket gets
/// them as frames.
///
/// It pings every socketio.ping_interval and closes a client that has not
/// answered within socketio.ping_timeout; it holds client messages to
/// limits.max_message_bytes and limits.ws_messages_per_second (a warning,
/// then the close); an upgrade probe (`2probe` on a websocket) answers
/// `3probe` and releases the pending GET with a noop, and `5` moves the
/// session to that websocket.
///
/// Thread-safe: transports (on any io thread), the actor and the ping timer
/// (on `home`) meet under one mutex, held only to update state and to post.
class engineio_session final : public ws_sink,
                               public std::enable_shared_from_this<engineio_session> {
public:
  /// A session on `transport` ("polling" or "websocket"); start() begins it.
  engineio_session(const net_context& ctx, boost::asio::any_io_executor home, std::string sid,
                   connection_info info);
  ~engineio_session() override;

  /// Registers the session, spawns its connection actor (`token`: the
  /// cookie or bearer token of the opening request, may be empty), starts
  /// pinging; returns the open packet. With `ws`, the session rides on it
  /// from the start (no upgrades offered).
  std::string start(std::string token, std::shared_ptr<eio_socket> ws);

  const std::string& sid() const { return sid_; }

  /// The place a polling session holds under server.max_connections and
  /// max_connections_per_ip: it outlives the HTTP requests that carry it, so
  /// no socket holds one for it. Given back when the session ends or rides
  /// on a websocket (whose socket holds its own).
  void hold(connection_slot slot) { polling_slot_ = std::move(slot); }

  // -- polling (any io thread) -----------------------------------------------

  /// A long-poll GET: answered now when packets wait, else when some come
  /// (or a ping, or the close). A second GET while one waits gets 400 and
  /// ends the session, as Engine.IO requires.
  void poll(responder respond);

  /// A POST's body: its packets, in order; answers 200 "ok" (or 400).
  void post(std::string_view body, responder respond);

  // -- websocket (the socket's io thread) --------------------------------------

  /// A text frame from `from` (the session's websocket, or a probing one).
  void on_ws_frame(const std::shared_ptr<eio_socket>& from, std::string text);

  /// A binary frame: refused with an error event.
  void on_ws_binary();

  /// `from` has closed or failed.
  void on_ws_closed(const eio_socket* from);

  // -- ws_sink: the connection actor and presence (any thread) ----------------

  void send(ws_text text) override;
  void send_batch(std::shared_ptr<const std::vector<ws_text>> texts) override;
  void close(ws_text last, std::uint16_t code, std::string reason) override;
  void abort() override;
  void go_live(ws_text welcome) override;

private:
  enum class transport { polling, websocket };

  void push_locked(const ws_text& text);
  void push_packet_locked(eio_frame packet);
  void push_packet_locked(std::string packet);
  void flush_locked();
  void on_packet_locked(std::string_view packet, bool from_ws);
  void on_message_locked(std::string_view data);
  /// Holds a client frame to the flood limit: true to serve it.
  bool admit_locked();
  void send_error_locked(const std::string& code, const std::string& message);
  /// The server ends the session: over polling the close packet goes with
  /// the next GET, over a websocket after the queued frames.
  void close_locked(std::uint16_t code, const std::string& reason);
  /// The session is over: transports closed, the actor told, unregistered.
  void finish_locked(std::uint16_t code, const std::string& reason);
  void tell_actor_locked();
  void schedule_ping(std::chrono::milliseconds after);
  void on_ping_timer();

  const net_context& ctx_;
  boost::asio::any_io_executor home_;
  boost::asio::steady_timer timer_; ///< touched on `home_` only
  const std::string sid_;
  connection_info info_;
  caf::actor actor_;

  std::mutex mtx_;
  transport transport_;
  std::shared_ptr<eio_socket> ws_;    ///< the websocket, once the session rides on one
  std::shared_ptr<eio_socket> probe_; ///< a websocket probing for an upgrade
  /// The websocket once the session has ended: closing, held by its own reads
  /// only (the socket holds the session: a strong pointer back would be a cycle).
  std::weak_ptr<eio_socket> closing_ws_;
  std::vector<eio_frame> queue_;     ///< packets waiting for the transport
  std::size_t queued_bytes_ = 0;
  responder pending_get_;
  message_rate_limiter rate_;
  bool awaiting_pong_ = false;
  bool pinged_ = false; ///< the timer is waiting for the pong of a ping
  bool closing_ = false; ///< the close is queued for the next GET
  bool ended_ = false;
  bool actor_told_ = false;
  bool answers_pings_ = false; ///< live: `ping_manual` is answered here, as /ws answers `ping`
  connection_slot polling_slot_;
};

} // namespace solod
