#include "ws_client.hpp"

#include "clock.hpp"
#include "net/tls_stream.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <type_traits>

namespace bench {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace {

/// The connection over `Stream`: beast::tcp_stream, or solod's tls_stream in
/// its client role (the lighter TLS: the client shares the server's cores,
/// and asio's ssl::stream cost it more CPU per message than solod spends).
template <class Stream>
class ws_client_impl final : public ws_client,
                             public std::enable_shared_from_this<ws_client_impl<Stream>> {
public:
  static constexpr bool secure = !std::is_same_v<Stream, beast::tcp_stream>;

  ws_client_impl(net::io_context& ioc, const target& t, ws_listener& listener)
    : ws_(make_stream(ioc, t)), target_(t), listener_(listener) {}

  void start(std::string token) override {
    token_ = std::move(token);
    started_ns = now_ns();
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(ws_).async_connect(
      target_.endpoint, beast::bind_front_handler(&ws_client_impl::on_connect, this->shared_from_this()));
  }

  void send(std::string text) override {
    if (closed_ || close_requested_) {
      return;
    }
    queue_.push_back(std::move(text));
    if (!writing_ && upgraded_) {
      do_write();
    }
  }

  void close(std::uint16_t code) override {
    if (closed_ || close_requested_) {
      return;
    }
    close_requested_ = true;
    close_code_ = code;
    if (!upgraded_) {
      // Still connecting: there is no WebSocket to close politely.
      beast::get_lowest_layer(ws_).cancel();
      return;
    }
    if (!writing_) {
      do_close();
    }
  }

private:
  static websocket::stream<Stream> make_stream(net::io_context& ioc, const target& t) {
    if constexpr (secure) {
      return websocket::stream<Stream>(beast::tcp_stream(ioc), *t.tls_context, beast::role_type::client);
    } else {
      return websocket::stream<Stream>(ioc);
    }
  }

  // -- opening ----------------------------------------------------------------

  void on_connect(beast::error_code ec) {
    if (ec) {
      return fail(ec);
    }
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(net::ip::tcp::no_delay(true), ignored);
    if constexpr (secure) {
      ws_.next_layer().async_handshake(
        net::const_buffer(),
        beast::bind_front_handler(&ws_client_impl::on_tls_handshake, this->shared_from_this()));
    } else {
      do_upgrade();
    }
  }

  void on_tls_handshake(beast::error_code ec) {
    if (ec) {
      return fail(ec);
    }
    do_upgrade();
  }

  void do_upgrade() {
    if (close_requested_) {
      return fail(net::error::operation_aborted);
    }
    beast::get_lowest_layer(ws_).expires_never();
    // Client defaults: 30 s handshake, no idle timeout (the server pings; Beast answers).
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    const bool bearer = target_.proto->bearer_at_upgrade();
    ws_.set_option(websocket::stream_base::decorator([this, bearer](websocket::request_type& req) {
      req.set(http::field::user_agent, target_.user_agent);
      if (bearer) {
        req.set(http::field::authorization, "Bearer " + token_);
      }
    }));
    ws_.auto_fragment(false);
    ws_.read_message_max(4u << 20);
    ws_.async_handshake(target_.host_header, std::string(target_.proto->ws_target()),
                        beast::bind_front_handler(&ws_client_impl::on_upgrade, this->shared_from_this()));
  }

  void on_upgrade(beast::error_code ec) {
    if (ec) {
      return fail(ec);
    }
    upgraded_ = true;
    if (target_.proto->bearer_at_upgrade()) {
      token_.clear();
      token_.shrink_to_fit();
    }
    if (close_requested_) {
      do_close();
    } else if (!queue_.empty()) {
      do_write();
    }
    do_read();
  }

  // -- reading ----------------------------------------------------------------

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&ws_client_impl::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      return fail(ec);
    }
    auto data = buffer_.data();
    std::string_view frame(static_cast<const char*>(data.data()), data.size());
    auto m = target_.proto->classify(frame);
    switch (m.kind) {
      case inbound_kind::engine_ping:
        send("3");
        break;
      case inbound_kind::open:
        if (!ready_) {
          send(target_.proto->auth_message(token_));
          token_.clear();
          token_.shrink_to_fit();
        }
        break;
      case inbound_kind::welcome:
      case inbound_kind::connected: // Socket.IO: connected once CONNECT is answered
        if (!ready_) {
          ready_ = true;
          ready_ns = now_ns();
          listener_.on_ready(*this);
          break;
        }
        listener_.on_message(*this, m, frame);
        break;
      case inbound_kind::disconnect:
        // Socket.IO's 41 (or Engine.IO close): the server ends this socket;
        // close the WebSocket as socket.io-client does (flask waits for it).
        if (ready_) {
          listener_.on_message(*this, m, frame);
        }
        close(1000);
        break;
      case inbound_kind::connect_error:
        if (!ready_) {
          refused_ = "socket.io connect_error";
          close(1000);
          break;
        }
        listener_.on_message(*this, m, frame);
        break;
      default:
        if (ready_) {
          listener_.on_message(*this, m, frame);
        } else if (m.kind == inbound_kind::error && refused_.empty()) {
          refused_ = std::string(frame.substr(0, 200));
        }
    }
    buffer_.consume(buffer_.size());
    if (!closed_) {
      do_read();
    }
  }

  // -- writing and closing ------------------------------------------------------

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&ws_client_impl::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      queue_.clear();
      return; // the read side reports the broken stream
    }
    queue_.pop_front();
    if (close_requested_) {
      queue_.clear();
      do_close();
    } else if (!queue_.empty()) {
      do_write();
    }
  }

  void do_close() {
    if (closing_) {
      return;
    }
    closing_ = true;
    // Bounded: a server that never answers our close frame is dropped after 5 s.
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
    ws_.async_close(websocket::close_reason(close_code_), [self = this->shared_from_this()](beast::error_code) {
      // The pending read completes with `closed` (or an error) and reports.
    });
  }

  /// Reports the end once: the peer's close frame, or why it broke.
  void fail(beast::error_code ec) {
    if (closed_) {
      return;
    }
    closed_ = true;
    close_info info;
    info.at_ns = now_ns();
    info.before_ready = !ready_;
    if (ec == websocket::error::closed) {
      info.code = ws_.reason().code;
      info.reason.assign(ws_.reason().reason.data(), ws_.reason().reason.size());
    } else {
      info.reason = ec.message();
      if (ec == websocket::error::upgrade_declined) {
        info.reason = "upgrade declined (HTTP status refused the WebSocket)";
      }
    }
    if (!refused_.empty() && !ready_) {
      info.reason += " [" + refused_ + "]";
    }
    queue_.clear();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    listener_.on_closed(*this, info);
  }

  websocket::stream<Stream> ws_;
  const target& target_;
  ws_listener& listener_;
  std::string token_;
  std::string refused_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::uint16_t close_code_ = 1000;
  bool upgraded_ = false;
  bool writing_ = false;
  bool close_requested_ = false;
  bool closing_ = false;
};

} // namespace

std::shared_ptr<ws_client> make_ws_client(net::io_context& ioc, const target& t, ws_listener& listener,
                                          std::size_t index) {
  std::shared_ptr<ws_client> c;
  if (t.tls) {
    c = std::make_shared<ws_client_impl<solod::tls_stream>>(ioc, t, listener);
  } else {
    c = std::make_shared<ws_client_impl<beast::tcp_stream>>(ioc, t, listener);
  }
  c->index = index;
  return c;
}

void subscribing_listener::on_ready(ws_client& c) {
  c.send(proto_.subscribe_presence());
}

} // namespace bench
