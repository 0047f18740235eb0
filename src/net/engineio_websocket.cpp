#include "net/engineio_websocket.hpp"

#include "net/engineio_session.hpp"
#include "net/net_context.hpp"
#include "util/metrics.hpp"
#include "util/random.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>

#include <netinet/in.h>
#include <netinet/tcp.h>

namespace solod {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace {

/// One WebSocket of an Engine.IO session, over `Stream` (tcp_stream or tls_stream).
template <class Stream>
class engineio_websocket final : public eio_socket,
                                 public std::enable_shared_from_this<engineio_websocket<Stream>> {
public:
  engineio_websocket(Stream&& stream, const net_context& ctx, connection_slot slot)
    : ws_(std::move(stream)), ctx_(ctx), slot_(std::move(slot)) {}

  void run(upgrade_request req, connection_info info, std::string token,
           std::shared_ptr<engineio_session> upgrade_of) {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = ctx_.handshake_timeout;
    // Engine.IO pings on its own; this only drops a socket gone silent for
    // longer than any live client can be (a probe that never finishes).
    timeouts.idle_timeout = ctx_.ws_idle_timeout + ctx_.cfg->socketio.ping_interval +
                            ctx_.cfg->socketio.ping_timeout;
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "solod"); }));
    // Over the limit the session answers `error too_large` and closes; far
    // over it Beast closes with 1009 without reading it all.
    ws_.read_message_max(ctx_.cfg->limits.max_message_bytes + 1024);
    ws_.auto_fragment(false);
    info_ = std::move(info);
    token_ = std::move(token);
    session_ = std::move(upgrade_of);
    ws_.async_accept(req, beast::bind_front_handler(&engineio_websocket::on_accept,
                                                    this->shared_from_this()));
  }

  // -- eio_socket: any thread ------------------------------------------------

  void write(std::vector<eio_frame> packets) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), packets = std::move(packets)]() mutable {
      for (auto& p : packets) {
        self->enqueue(std::move(p));
      }
    });
  }

  void close(std::uint16_t code, std::string reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), code, reason = std::move(reason)] {
      self->request_close(code, reason);
    });
  }

  void abort() override {
    net::post(ws_.get_executor(), [self = this->shared_from_this()] {
      beast::get_lowest_layer(self->ws_).close();
    });
  }

private:
  void on_accept(beast::error_code ec) {
    if (ec) {
      return;
    }
    accepted_ = true;
    if (!session_) {
      session_ = std::make_shared<engineio_session>(ctx_, ws_.get_executor(), random_hex(16),
                                                    std::move(info_));
      session_->start(std::move(token_), this->shared_from_this());
      token_.clear();
    }
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&engineio_websocket::on_read,
                                                      this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      session_->on_ws_closed(this);
      session_.reset(); // no more reads: the session need not outlive its own end for us
      return;
    }
    if (!ws_.got_text()) {
      buffer_.clear();
      session_->on_ws_binary();
      do_read();
      return;
    }
    auto text = beast::buffers_to_string(buffer_.data());
    buffer_.clear();
    if (buffer_.capacity() > 8192) {
      buffer_.shrink_to_fit();
    }
    if (!close_requested_) {
      session_->on_ws_frame(this->shared_from_this(), std::move(text));
    }
    do_read();
  }

  void enqueue(eio_frame packet) {
    if (close_requested_) {
      return;
    }
    queued_bytes_ += packet->size();
    queue_.push_back(std::move(packet));
    if (queued_bytes_ > ctx_.ws_max_queued_bytes) {
      // A reader this slow would make us hold its packets forever. The frame
      // being written stays: Beast reads from it, and on_write pops it.
      ctx_.stats->ws_slow_consumers_dropped++;
      queue_.erase(writing_ ? queue_.begin() + 1 : queue_.begin(), queue_.end());
      queued_bytes_ = writing_ ? queue_.front()->size() : 0;
      request_close(1008, "slow consumer");
      if (session_) {
        session_->on_ws_closed(this);
      }
      return;
    }
    if (!writing_) {
      do_write();
    }
  }

  void do_write() {
    writing_ = true;
    if (!corked_ && queue_.size() > 1) {
      // Several packets wait (user_status + user_count for each presence
      // change): the kernel packs their frames into full segments, as on /ws.
      set_cork(true);
    }
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()),
                    beast::bind_front_handler(&engineio_websocket::on_write, this->shared_from_this()));
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
      set_cork(false); // nothing waits in the kernel once the queue is empty
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
    if (closing_ || !accepted_) {
      return;
    }
    closing_ = true;
    ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {});
  }

  websocket::stream<Stream> ws_;
  const net_context& ctx_;
  beast::flat_buffer buffer_;
  std::deque<eio_frame> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool corked_ = false;
  bool close_requested_ = false;
  bool closing_ = false;
  bool accepted_ = false;
  websocket::close_reason close_reason_;
  connection_info info_;
  std::string token_;
  std::shared_ptr<engineio_session> session_;
  connection_slot slot_;
};

template <class Stream>
void start(Stream&& stream, upgrade_request req, const net_context& ctx, connection_info info,
           std::string token, connection_slot slot, std::shared_ptr<engineio_session> upgrade_of) {
  std::make_shared<engineio_websocket<std::decay_t<Stream>>>(std::move(stream), ctx, std::move(slot))
    ->run(std::move(req), std::move(info), std::move(token), std::move(upgrade_of));
}

} // namespace

void start_engineio_websocket(beast::tcp_stream stream, upgrade_request req, const net_context& ctx,
                              connection_info info, std::string token, connection_slot slot,
                              std::shared_ptr<engineio_session> upgrade_of) {
  start(std::move(stream), std::move(req), ctx, std::move(info), std::move(token), std::move(slot),
        std::move(upgrade_of));
}

void start_engineio_websocket(tls_stream stream, upgrade_request req,
                              const net_context& ctx, connection_info info, std::string token,
                              connection_slot slot, std::shared_ptr<engineio_session> upgrade_of) {
  start(std::move(stream), std::move(req), ctx, std::move(info), std::move(token), std::move(slot),
        std::move(upgrade_of));
}

} // namespace solod
