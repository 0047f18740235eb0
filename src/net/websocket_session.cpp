#include "net/websocket_session.hpp"

#include "actors/messages.hpp"
#include "net/message_rate_limiter.hpp"
#include "net/net_context.hpp"
#include "actors/ping_reply.hpp"
#include "net/ws_tracker.hpp"
#include "util/json_text.hpp"
#include "util/metrics.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include <deque>

#include <netinet/in.h>
#include <netinet/tcp.h>

namespace solod {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace {

/// The session over `Stream` (tcp_stream or tls_stream).
template <class Stream>
class websocket_session final : public ws_sink,
                                public std::enable_shared_from_this<websocket_session<Stream>> {
public:
  websocket_session(Stream&& stream, const net_context& ctx, connection_slot slot)
    : ws_(std::move(stream)), ctx_(ctx), rate_(ctx.cfg->limits.ws_messages_per_second),
      slot_(std::move(slot)) {}

  ~websocket_session() override {
    if (tracked_) {
      ctx_.websockets->remove(this);
      ctx_.stats->open_websockets--;
    }
  }

  void run(upgrade_request req, connection_info info, std::string token) {
    // Beast's websocket timeouts replace the tcp_stream's: the upgrade answer
    // and the close handshake get server.handshake_timeout; after
    // ws_idle_timeout / 2 of silence the server pings, and a peer that has
    // sent nothing (not even a pong) for ws_idle_timeout is dropped.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = ctx_.handshake_timeout;
    timeouts.idle_timeout = ctx_.ws_idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "solod"); }));
    // permessage-deflate stays off (Beast's default): it costs memory per connection.
    ws_.read_message_max(ctx_.cfg->limits.max_message_bytes);
    ws_.auto_fragment(false);
    // No write buffer to size: a server stream that neither masks nor
    // compresses has Beast write our buffers as they are (it allocates none).
    info_ = std::move(info);
    token_ = std::move(token);
    ws_.async_accept(req, beast::bind_front_handler(&websocket_session::on_accept,
                                                    this->shared_from_this()));
  }

  // -- ws_sink: any thread ---------------------------------------------------

  void send(ws_text text) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), text = std::move(text)] {
      self->enqueue(text);
    });
  }

  void send_batch(std::shared_ptr<const std::vector<ws_text>> texts) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), texts = std::move(texts)] {
      for (const auto& t : *texts) {
        self->enqueue(t);
      }
    });
  }

  void close(ws_text last, std::uint16_t code, std::string reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), last = std::move(last), code,
                                   reason = std::move(reason)] {
      if (last) {
        self->enqueue(last);
      }
      self->request_close(code, reason);
    });
  }

  void abort() override {
    net::post(ws_.get_executor(), [self = this->shared_from_this()] {
      beast::get_lowest_layer(self->ws_).close();
    });
  }

  void go_live(ws_text welcome) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), welcome = std::move(welcome)] {
      self->enqueue(welcome);
      self->answers_pings_ = true;
    });
  }

private:
  // -- on the connection's io thread -----------------------------------------

  void on_accept(beast::error_code ec) {
    if (ec) {
      return; // no actor yet, nothing to tell
    }
    tracked_ = true;
    ctx_.websockets->add(this->shared_from_this());
    ctx_.stats->open_websockets++;
    conn_ = spawn_connection_actor(*ctx_.actors_system, ctx_.connections, std::move(info_),
                                   this->shared_from_this(), std::move(token_));
    token_.clear();
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&websocket_session::on_read,
                                                      this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      // Closed by the peer, timed out, too big (Beast sent 1009), or broken.
      notify_closed();
      return;
    }
    if (!ws_.got_text()) {
      // SPEC: a binary frame closes with 1003 (unsupported data).
      buffer_.clear();
      notify_closed();
      request_close(websocket::close_code::unknown_data, "binary frames are not supported");
      return;
    }
    auto text = beast::buffers_to_string(buffer_.data());
    buffer_.clear();
    if (buffer_.capacity() > 8192) {
      buffer_.shrink_to_fit(); // a big message must not pin its memory for the connection's life
    }
    on_text(std::move(text));
    do_read();
  }

  /// One text frame: counted and held to the flood limit here, for every
  /// frame alike; then a ping is answered on this thread (once the connection
  /// actor has handed pings over) and anything else goes to the actor.
  void on_text(std::string text) {
    if (close_requested_) {
      return; // closing: the connection actor is gone or going
    }
    ctx_.stats->ws_messages_in++;
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
    switch (rate_.on_message(now_ms)) {
      case message_rate_limiter::verdict::pass:
        break;
      case message_rate_limiter::verdict::warn:
        send_error("rate_limited", "at most " + std::to_string(rate_.limit()) + " messages per second");
        return;
      case message_rate_limiter::verdict::drop:
        return;
      case message_rate_limiter::verdict::close:
        send_error("rate_limited", "too many messages; closing");
        notify_closed();
        request_close(websocket::close_code::policy_error, "rate limit exceeded");
        return;
    }
    if (answers_pings_) {
      if (auto pong = pong_for_frame(text, std::chrono::system_clock::now())) {
        ctx_.stats->ws_messages_out++;
        enqueue(make_ws_text(std::move(*pong)));
        return;
      }
    }
    caf::anon_send(conn_, frame_atom::value, std::move(text));
  }

  void send_error(const std::string& code, const std::string& message) {
    ctx_.stats->ws_messages_out++;
    enqueue(make_ws_text(
      to_json_text(nlohmann::json{{"type", "error"}, {"code", code}, {"message", message}})));
  }

  void enqueue(const ws_text& text) {
    if (close_requested_) {
      return;
    }
    queued_bytes_ += text->size();
    if (queued_bytes_ > ctx_.ws_max_queued_bytes) {
      // A reader this slow would make us hold its messages forever.
      ctx_.stats->ws_slow_consumers_dropped++;
      // The message being written stays: Beast is reading from it, and
      // on_write pops it.
      queue_.erase(writing_ ? queue_.begin() + 1 : queue_.begin(), queue_.end());
      queued_bytes_ = writing_ ? queue_.front()->size() : 0;
      notify_closed();
      request_close(websocket::close_code::policy_error, "slow consumer");
      return;
    }
    queue_.push_back(text);
    if (!writing_) {
      do_write();
    }
  }

  void do_write() {
    writing_ = true;
    if (!corked_ && queue_.size() > 1) {
      // Several messages wait (a presence batch, a broadcast): let the kernel
      // pack their frames into full segments instead of one per message.
      // Uncorked as soon as the queue is empty, so nothing waits in the kernel.
      set_cork(true);
    }
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()),
                    beast::bind_front_handler(&websocket_session::on_write,
                                              this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      queue_.clear();
      queued_bytes_ = 0;
      return; // the read side sees the broken stream too
    }
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
    if (!queue_.empty()) {
      do_write();
      return;
    }
    if (corked_) {
      set_cork(false);
    }
    if (close_requested_) {
      do_close();
    }
  }

  void set_cork(bool on) {
    using tcp_cork = net::detail::socket_option::boolean<IPPROTO_TCP, TCP_CORK>;
    beast::error_code ignored; // a broken socket shows up on the next write or read
    beast::get_lowest_layer(ws_).socket().set_option(tcp_cork(on), ignored);
    corked_ = on;
  }

  void request_close(std::uint16_t code, const std::string& reason) {
    if (close_requested_) {
      return;
    }
    close_requested_ = true;
    close_reason_ = websocket::close_reason(code);
    close_reason_.reason = reason;
    if (!writing_ && queue_.empty()) {
      do_close();
    }
  }

  void do_close() {
    if (closing_ || !tracked_) {
      return;
    }
    closing_ = true;
    ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {
      self->notify_closed();
    });
  }

  void notify_closed() {
    if (!notified_ && conn_) {
      notified_ = true;
      caf::anon_send(conn_, closed_atom::value);
    }
  }

  websocket::stream<Stream> ws_;
  const net_context& ctx_;
  beast::flat_buffer buffer_;
  std::deque<ws_text> queue_;
  std::size_t queued_bytes_ = 0;
  message_rate_limiter rate_;
  bool answers_pings_ = false; ///< set by the connection actor once the connection is live
  bool writing_ = false;
  bool corked_ = false;
  bool close_requested_ = false;
  bool closing_ = false;
  bool notified_ = false;
  bool tracked_ = false;
  websocket::close_reason close_reason_;
  caf::actor conn_;
  connection_info info_;
  std::string token_;
  connection_slot slot_; ///< the socket's place under the connection caps
};

template <class Stream>
void start(Stream&& stream, upgrade_request req, const net_context& ctx, connection_info info,
           std::string token, connection_slot slot) {
  std::make_shared<websocket_session<std::decay_t<Stream>>>(std::move(stream), ctx, std::move(slot))
    ->run(std::move(req), std::move(info), std::move(token));
}

} // namespace

void start_websocket_session(beast::tcp_stream stream, upgrade_request req,
                             const net_context& ctx, connection_info info, std::string token,
                             connection_slot slot) {
  start(std::move(stream), std::move(req), ctx, std::move(info), std::move(token), std::move(slot));
}

void start_websocket_session(tls_stream stream, upgrade_request req,
                             const net_context& ctx, connection_info info, std::string token,
                             connection_slot slot) {
  start(std::move(stream), std::move(req), ctx, std::move(info), std::move(token), std::move(slot));
}

} // namespace solod
