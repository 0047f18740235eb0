#include "net/engineio_session.hpp"

#include "actors/messages.hpp"
#include "actors/ping_reply.hpp"
#include "net/engineio_registry.hpp"
#include "net/net_context.hpp"
#include "net/socketio_outbound.hpp"
#include "net/ws_tracker.hpp"
#include "protocol/engineio_packet.hpp"
#include "protocol/socketio_packet.hpp"
#include "util/metrics.hpp"

#include <boost/asio/post.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

namespace solod {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

http_response polling_response(std::string body) {
  http_response r;
  r.status = 200;
  r.content_type = "text/plain; charset=UTF-8";
  r.body = std::move(body);
  r.with_header("Cache-Control", "no-store");
  return r;
}

long long steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

} // namespace

engineio_session::engineio_session(const net_context& ctx, net::any_io_executor home,
                                   std::string sid, connection_info info)
  : ctx_(ctx), home_(home), timer_(home), sid_(std::move(sid)), info_(std::move(info)),
    transport_(transport::polling), rate_(ctx.cfg->limits.ws_messages_per_second) {}

engineio_session::~engineio_session() {
  // Counted open until its socket has let go too: shutdown waits for that.
  ctx_.websockets->remove(this);
}

std::string engineio_session::start(std::string token, std::shared_ptr<eio_socket> ws) {
  const auto& sio = ctx_.cfg->socketio;
  const json open{{"sid", sid_},
                  {"upgrades", ws ? json::array() : json::array({"websocket"})},
                  {"pingInterval", sio.ping_interval.count()},
                  {"pingTimeout", sio.ping_timeout.count()},
                  {"maxPayload", sio.max_payload}};
  auto open_packet = encode_eio(eio_type::open, open.dump());
  info_.transport = ws ? "websocket" : "polling";
  auto self = shared_from_this();
  auto actor = spawn_connection_actor(*ctx_.actors_system, ctx_.connections, info_, self,
                                      std::move(token));
  {
    std::lock_guard<std::mutex> guard(mtx_);
    actor_ = std::move(actor);
    if (ws) {
      transport_ = transport::websocket;
      ws_ = ws;
      ws_->write({std::make_shared<const std::string>(open_packet)});
    }
  }
  (ws ? ctx_.stats->socketio_open_websocket : ctx_.stats->socketio_open_polling)++;
  ctx_.engineio->add(sid_, self);
  // Closed at shutdown like every WebSocket (and at once, if shutdown has begun).
  ctx_.websockets->add(self);
  schedule_ping(sio.ping_interval);
  return open_packet;
}

// -- polling ---------------------------------------------------------------------

void engineio_session::poll(responder respond) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (ended_) {
    respond(error_response(400, "bad_request", "this Engine.IO session has ended"));
    return;
  }
  if (transport_ == transport::websocket) {
    respond(error_response(400, "bad_request", "this Engine.IO session has moved to websocket"));
    return;
  }
  if (pending_get_) {
    // Engine.IO allows one GET at a time; a second one means a broken or
    // hostile client: the session ends (the first GET gets the close).
    respond(error_response(400, "bad_request", "overlapping long-poll GET: one at a time per sid"));
    finish_locked(1008, "overlapping GET");
    return;
  }
  if (probe_) {
    // Upgrading: the client pauses polling once this GET completes, then
    // sends `5` on the websocket; holding the GET would stall both.
    respond(polling_response(encode_eio(eio_type::noop)));
    return;
  }
  pending_get_ = std::move(respond);
  flush_locked();
}

void engineio_session::post(std::string_view body, responder respond) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (ended_) {
    respond(error_response(400, "bad_request", "this Engine.IO session has ended"));
    return;
  }
  if (transport_ == transport::websocket) {
    respond(error_response(400, "bad_request", "this Engine.IO session has moved to websocket"));
    return;
  }
  for (auto packet : split_eio_payload(body)) {
    if (closing_) {
      // Closing: only the client's own close packet still matters.
      if (packet == "1") {
        finish_locked(1000, "closed by the client");
      }
      continue;
    }
    on_packet_locked(packet, false);
    if (ended_) {
      break;
    }
  }
  http_response ok = polling_response("ok");
  ok.content_type = "text/html";
  respond(std::move(ok));
}

// -- websocket -------------------------------------------------------------------

void engineio_session::on_ws_frame(const std::shared_ptr<eio_socket>& from, std::string text) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (ended_) {
    if (from != ws_) {
      from->close(1000, "session ended"); // a probe that came too late
    }
    return;
  }
  if (from == ws_) {
    on_packet_locked(text, true);
    return;
  }
  // A websocket probing for an upgrade: `2probe`, then `5`.
  if (text == "2probe" && transport_ == transport::polling && !closing_) {
    probe_ = from;
    from->write({std::make_shared<const std::string>(encode_eio(eio_type::pong, "probe"))});
    // The client pauses polling: release its pending GET.
    if (pending_get_) {
      auto respond = std::move(pending_get_);
      pending_get_ = nullptr;
      respond(polling_response(encode_eio(eio_type::noop)));
    }
    return;
  }
  if (text == "5" && probe_ == from) {
    transport_ = transport::websocket;
    ws_ = std::move(probe_);
    probe_.reset();
    polling_slot_ = connection_slot{};
    ctx_.stats->socketio_open_polling--;
    ctx_.stats->socketio_open_websocket++;
    caf::anon_send(actor_, transport_atom::value, std::string("websocket"));
    if (pending_get_) {
      auto respond = std::move(pending_get_);
      pending_get_ = nullptr;
      respond(polling_response(encode_eio(eio_type::noop)));
    }
    flush_locked();
    return;
  }
  from->close(1002, "expected the upgrade probe (2probe, then 5)");
  if (probe_ == from) {
    probe_.reset();
  }
}

void engineio_session::on_ws_binary() {
  std::lock_guard<std::mutex> guard(mtx_);
  // Counted like messages: a flood of binary frames must not buy a flood of answers.
  if (!ended_ && !closing_ && admit_locked()) {
    send_error_locked("binary_unsupported", "binary frames are not supported: send JSON (text) data");
  }
}

void engineio_session::on_ws_closed(const eio_socket* from) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (probe_ && probe_.get() == from) {
    probe_.reset();
    return;
  }
  if (ws_ && ws_.get() == from) {
    finish_locked(1000, "transport closed"); // lets go of the socket too
  }
}

// -- ws_sink ---------------------------------------------------------------------

void engineio_session::send(ws_text text) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (ended_ || closing_ || !text) {
    return;
  }
  push_locked(text);
  flush_locked();
}

void engineio_session::send_batch(std::shared_ptr<const std::vector<ws_text>> texts) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (ended_ || closing_ || !texts) {
    return;
  }
  for (const auto& t : *texts) {
    if (t) {
      push_locked(t);
    }
  }
  flush_locked();
}

void engineio_session::close(ws_text last, std::uint16_t code, std::string reason) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (ended_ || closing_) {
    return;
  }
  if (last) {
    push_locked(last);
  }
  close_locked(code, reason);
}

void engineio_session::abort() {
  std::lock_guard<std::mutex> guard(mtx_);
  finish_locked(1001, "aborted");
  if (auto socket = closing_ws_.lock()) {
    socket->abort(); // a peer that never answered the close
  }
}

void engineio_session::go_live(ws_text welcome) {
  send(std::move(welcome));
  std::lock_guard<std::mutex> guard(mtx_);
  answers_pings_ = !ended_ && !closing_; // answered after the welcome, never before it
}

// -- under the lock ------------------------------------------------------------------

void engineio_session::push_locked(const ws_text& text) {
  // Held here: the memo may let go of it while another socket translates.
  const auto packets = socketio_outbound(text);
  for (const auto& packet : *packets) {
    push_packet_locked(eio_frame(packets, &packet)); // shares the translation's ownership
  }
}

void engineio_session::push_packet_locked(std::string packet) {
  push_packet_locked(std::make_shared<const std::string>(std::move(packet)));
}

void engineio_session::push_packet_locked(eio_frame packet) {
  queued_bytes_ += packet->size();
  queue_.push_back(std::move(packet));
  if (queued_bytes_ > ctx_.ws_max_queued_bytes) {
    // A client this slow would make us hold its packets forever.
    ctx_.stats->ws_slow_consumers_dropped++;
    queue_.clear();
    queued_bytes_ = 0;
    finish_locked(1008, "slow consumer");
  }
}

void engineio_session::flush_locked() {
  if (queue_.empty()) {
    if (closing_ && pending_get_ && !probe_) {
      auto respond = std::move(pending_get_);
      pending_get_ = nullptr;
      respond(polling_response(encode_eio(eio_type::close)));
      finish_locked(1000, "closed");
    }
    return;
  }
  if (transport_ == transport::websocket) {
    if (ws_) {
      ws_->write(std::move(queue_));
      queue_.clear();
      queued_bytes_ = 0;
    }
    return;
  }
  if (pending_get_ && !probe_) {
    // Within maxPayload: what does not fit waits for the next GET.
    // (A closing session's close packet waits for an empty queue: see close_locked.)
    std::vector<std::string_view> batch;
    std::size_t size = 0;
    while (batch.size() < queue_.size() &&
           (batch.empty() || size + queue_[batch.size()]->size() + 1 <= ctx_.cfg->socketio.max_payload)) {
      size += queue_[batch.size()]->size() + 1;
      batch.push_back(*queue_[batch.size()]);
    }
    auto body = join_eio_payload(batch);
    const auto n = batch.size();
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    const auto taken = size - n; // the separators are not queued bytes
    queued_bytes_ = queued_bytes_ >= taken ? queued_bytes_ - taken : 0;
    auto respond = std::move(pending_get_);
    pending_get_ = nullptr;
    respond(polling_response(std::move(body)));
  }
}

void engineio_session::on_packet_locked(std::string_view packet, bool from_ws) {
  auto r = parse_eio_packet(packet);
  if (!r.packet) {
    if (admit_locked()) {
      send_error_locked("bad_request", r.error);
    }
    return;
  }
  switch (r.packet->type) {
    case eio_type::pong:
      awaiting_pong_ = false;
      return;
    case eio_type::message:
      on_message_locked(r.packet->data);
      return;
    case eio_type::close:
      finish_locked(1000, "closed by the client");
      return;
    case eio_type::ping:
      // Only a probe pings (handled before); answer any other in kind.
      if (admit_locked()) {
        push_packet_locked(encode_eio(eio_type::pong, r.packet->data));
        flush_locked();
      }
      return;
    case eio_type::noop:
      return;
    case eio_type::open:
    case eio_type::upgrade:
      if (admit_locked()) {
        send_error_locked("bad_request", "unexpected Engine.IO packet type");
      }
      return;
  }
}

void engineio_session::on_message_locked(std::string_view data) {
  ctx_.stats->socketio_messages_in++;
  if (data.size() > ctx_.cfg->limits.max_message_bytes) {
    send_error_locked("too_large", "message over limits.max_message_bytes (" +
                                     std::to_string(ctx_.cfg->limits.max_message_bytes) +
                                     " bytes); closing");
    close_locked(1009, "message too big");
    return;
  }
  if (!admit_locked()) {
    return;
  }
  if (answers_pings_) {
    // The hot path of a busy server: answered on this thread, as /ws answers its ping.
    if (auto pong = pong_manual_for_packet(data, std::chrono::system_clock::now())) {
      ctx_.stats->socketio_messages_out++;
      push_locked(make_ws_text(std::move(*pong)));
      flush_locked();
      return;
    }
  }
  caf::anon_send(actor_, frame_atom::value, std::string(data));
}

bool engineio_session::admit_locked() {
  switch (rate_.on_message(steady_ms())) {
    case message_rate_limiter::verdict::pass:
      return true;
    case message_rate_limiter::verdict::warn:
      send_error_locked("rate_limited", "at most " + std::to_string(rate_.limit()) + " messages per second");
      return false;
    case message_rate_limiter::verdict::drop:
      return false;
    case message_rate_limiter::verdict::close:
      send_error_locked("rate_limited", "too many messages; closing");
      close_locked(1008, "rate limit exceeded");
      return false;
  }
  return false;
}

void engineio_session::send_error_locked(const std::string& code, const std::string& message) {
  ctx_.stats->socketio_messages_out++;
  push_packet_locked(encode_eio(eio_type::message,
                                encode_sio_event("error", json{{"code", code}, {"message", message}})));
  flush_locked();
}

void engineio_session::close_locked(std::uint16_t code, const std::string& reason) {
  if (ended_ || closing_) {
    return;
  }
  tell_actor_locked();
  if (transport_ == transport::polling) {
    // What is queued goes first, the close packet in an answer of its own:
    // socket.io-client handles a payload's packets on its next tick but a
    // close packet at once, so a `kicked` + DISCONNECT sharing a payload
    // with the close would reach the socket after "transport close". (The
    // client usually closes first, once it has read the DISCONNECT.) A
    // client that never comes back is dropped by the ping timer.
    closing_ = true;
    flush_locked();
    return;
  }
  flush_locked();
  finish_locked(code, reason);
}

void engineio_session::tell_actor_locked() {
  if (!actor_told_ && actor_) {
    actor_told_ = true;
    caf::anon_send(actor_, closed_atom::value);
  }
}

void engineio_session::finish_locked(std::uint16_t code, const std::string& reason) {
  if (ended_) {
    return;
  }
  ended_ = true;
  (transport_ == transport::websocket ? ctx_.stats->socketio_open_websocket
                                      : ctx_.stats->socketio_open_polling)--;
  if (pending_get_) {
    auto respond = std::move(pending_get_);
    pending_get_ = nullptr;
    std::vector<std::string_view> packets;
    for (const auto& p : queue_) {
      packets.push_back(*p);
    }
    const auto close = encode_eio(eio_type::close);
    packets.push_back(close);
    respond(polling_response(join_eio_payload(packets)));
  }
  queue_.clear();
  queued_bytes_ = 0;
  if (ws_) {
    // The socket holds this session until its reads end; holding the socket
    // past its close would make a cycle whenever that end never comes (the
    // io_context stopped at shutdown before the peer answered the close).
    ws_->close(code, reason);
    closing_ws_ = ws_;
    ws_.reset();
  }
  if (probe_) {
    probe_->close(1000, "session ended");
    probe_.reset();
  }
  tell_actor_locked();
  polling_slot_ = connection_slot{};
  ctx_.engineio->remove(sid_);
  net::post(home_, [self = shared_from_this()] { self->timer_.cancel(); });
}

// -- pings -----------------------------------------------------------------------

void engineio_session::schedule_ping(std::chrono::milliseconds after) {
  net::post(home_, [self = shared_from_this(), after] {
    self->timer_.expires_after(after);
    self->timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec) {
        self->on_ping_timer();
      }
    });
  });
}

void engineio_session::on_ping_timer() {
  std::lock_guard<std::mutex> guard(mtx_);
  if (ended_) {
    return;
  }
  const auto& sio = ctx_.cfg->socketio;
  if (closing_) {
    finish_locked(1000, "closed"); // the client never came for its close packet
    return;
  }
  if (awaiting_pong_) {
    ctx_.stats->socketio_ping_timeouts++;
    tell_actor_locked();
    finish_locked(1000, "ping timeout");
    return;
  }
  if (pinged_) {
    // The last ping was answered: wait out the rest of the interval.
    pinged_ = false;
    schedule_ping(sio.ping_interval > sio.ping_timeout ? sio.ping_interval - sio.ping_timeout
                                                       : std::chrono::milliseconds{0});
    return;
  }
  awaiting_pong_ = true;
  pinged_ = true;
  push_packet_locked(encode_eio(eio_type::ping));
  flush_locked();
  schedule_ping(sio.ping_timeout);
}

} // namespace solod
