#include "net/http_session.hpp"

#include "net/api_router.hpp"
#include "net/beast_request.hpp"
#include "net/engineio_http.hpp"
#include "net/engineio_websocket.hpp"
#include "net/net_context.hpp"
#include "net/origin_policy.hpp"
#include "net/websocket_session.hpp"
#include "net/ws_tracker.hpp"
#include "util/metrics.hpp"
#include "util/random.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>

#include <sys/socket.h>
#include <cerrno>

namespace solod {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

namespace {

/// The request/response loop shared by plain and TLS sessions (CRTP, as in
/// Beast's advanced_server_flex example).
template <class Derived>
class http_session {
public:
  http_session(beast::flat_buffer buffer, const net_context& ctx, std::string peer,
               connection_slot slot)
    : buffer_(std::move(buffer)), ctx_(ctx), peer_(std::move(peer)), slot_(std::move(slot)) {}

  ~http_session() { gone_->store(true); }

protected:
  Derived& derived() { return static_cast<Derived&>(*this); }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(ctx_.header_limit));
    parser_->body_limit(ctx_.cfg->server.max_body_bytes);
    // One deadline for the whole request, and for the wait before it on a
    // kept-alive connection: a client sending a byte a second is dropped.
    beast::get_lowest_layer(derived().stream()).expires_after(ctx_.header_timeout);
    // The header first: a Socket.IO long-polling POST may carry up to
    // socketio.max_payload, every other body at most max_body_bytes.
    http::async_read_header(derived().stream(), buffer_, *parser_,
                            beast::bind_front_handler(&http_session::on_header,
                                                      derived().shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t n) {
    if (ec) {
      on_read(ec, n);
      return;
    }
    const auto target = parser_->get().target();
    if (is_engineio_target(std::string_view(target.data(), target.size()))) {
      parser_->body_limit(std::max<std::uint64_t>(ctx_.cfg->server.max_body_bytes,
                                                  ctx_.cfg->socketio.max_payload));
    }
    http::async_read(derived().stream(), buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, derived().shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::eof) {
      derived().do_eof();
      return;
    }
    if (ec == http::error::body_limit) {
      send_and_close(413, "too_large", "the body exceeds max_body_bytes");
      return;
    }
    if (ec == http::error::header_limit) {
      send_and_close(431, "headers_too_large", "the request header exceeds 8 KiB");
      return;
    }
    if (ec && ec.category() == http::make_error_code(http::error::body_limit).category()) {
      send_and_close(400, "bad_request", "malformed HTTP request");
      return;
    }
    if (ec) {
      // Timeout, reset, TLS failure: nothing useful can be said to the peer.
      beast::get_lowest_layer(derived().stream()).close();
      return;
    }
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    if (beast::websocket::is_upgrade(msg)) {
      upgrade(std::move(msg));
      return;
    }

    http_request req = request_of(msg);
    req.body = std::move(msg.body());
    req.secure = Derived::secure;
    // Every X-Forwarded-For line counts: behind a proxy that appends its own
    // line, the first one is the client's and proves nothing.
    req.client_ip = ctx_.proxies.client_ip(peer_, req.header_list("X-Forwarded-For"));
    req.client_gone = gone_;
    is_head_ = req.method == "HEAD";

    // No read is outstanding while the handler works: one request at a time.
    beast::get_lowest_layer(derived().stream()).expires_never();
    watch_for_hangup();
    auto self = derived().shared_from_this();
    responder respond = [self](http_response r) {
      net::post(self->stream().get_executor(),
                [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
    };
    if (is_engineio_target(req.target)) {
      // Socket.IO's long-polling: a GET may wait for packets (up to a ping interval).
      serve_engineio_polling(ctx_, req, derived().stream().get_executor(), std::move(respond));
      return;
    }
    ctx_.router->handle(std::move(req), std::move(respond));
  }

  /// A WebSocket handshake: checked here, then the stream moves to a websocket session.
  void upgrade(http::request<http::string_body> msg) {
    const auto target = std::string(msg.target());
    if (is_engineio_target(target)) {
      upgrade_engineio(std::move(msg));
      return;
    }
    if (target.substr(0, target.find('?')) != "/ws") {
      send_and_close(404, "not_found", "WebSockets live at /ws and /socket.io/");
      return;
    }
    const auto& cfg = *ctx_.cfg;
    auto origin = std::string(msg[http::field::origin]);
    if (!origin_allowed(origin, std::string(msg[http::field::host]), cfg.server.allowed_origins)) {
      send_and_close(403, "forbidden", "origin not allowed");
      return;
    }
    const http_request view = request_of(msg);
    connection_info info;
    info.id = random_hex(16);
    info.ip = ctx_.proxies.client_ip(peer_, view.header_list("X-Forwarded-For"));
    info.user_agent = view.header("User-Agent");
    info.connected_at = std::chrono::system_clock::now();
    derived().hand_over(std::move(msg), std::move(info), request_token(view));
  }

  /// A WebSocket to /socket.io/: a new Engine.IO session, or the upgrade of a polling one.
  void upgrade_engineio(http::request<http::string_body> msg) {
    http_request view = request_of(msg);
    view.client_ip = ctx_.proxies.client_ip(peer_, view.header_list("X-Forwarded-For"));
    auto checked = check_engineio_upgrade(ctx_, view);
    if (auto* refused = std::get_if<http_response>(&checked)) {
      keep_alive_ = false;
      refused->close = true;
      write(std::move(*refused));
      return;
    }
    auto existing = std::get<std::shared_ptr<engineio_session>>(std::move(checked));
    auto token = request_token(view);
    derived().hand_over_engineio(std::move(msg), engineio_connection_info(view, "websocket"),
                                 std::move(token), std::move(existing));
  }

  /// No read is outstanding while the router works, so a client that hangs
  /// up would go unnoticed: wait for the socket to turn readable and peek. An
  /// end of stream (or a reset) marks the client gone, and work for it, such
  /// as an Argon2id hash, is skipped. Bytes of a next request end the watch.
  void watch_for_hangup() {
    if (watching_) {
      return;
    }
    watching_ = true;
    auto self = derived().shared_from_this();
    auto& socket = beast::get_lowest_layer(derived().stream()).socket();
    socket.async_wait(tcp::socket::wait_read, [self, &socket](beast::error_code ec) {
      self->watching_ = false;
      if (ec) {
        return; // closed or cancelled by us
      }
      char byte = 0;
      auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        self->gone_->store(true);
      }
    });
  }

  void send_and_close(unsigned status, const std::string& code, const std::string& message) {
    keep_alive_ = false;
    version_ = 11;
    auto r = error_response(status, code, message);
    r.close = true;
    write(std::move(r));
  }

  /// The body writer of a streamed response; keeps the session alive.
  class session_chunk_sink final : public chunk_sink {
  public:
    explicit session_chunk_sink(std::shared_ptr<Derived> session) : session_(std::move(session)) {}
    void write(std::string data, std::function<void(bool)> written) override {
      auto s = session_;
      net::post(s->stream().get_executor(),
                [s, data = std::make_shared<std::string>(std::move(data)),
                 written = std::move(written)]() mutable {
        s->response_ = data;
        beast::get_lowest_layer(s->stream()).expires_after(s->ctx_.write_timeout);
        net::async_write(s->stream(), http::make_chunk(net::buffer(*data)),
                         [s, written = std::move(written)](beast::error_code ec, std::size_t) {
          s->response_.reset();
          written(!ec);
        });
      });
    }
    void finish() override {
      auto s = session_;
      net::post(s->stream().get_executor(), [s] {
        beast::get_lowest_layer(s->stream()).expires_after(s->ctx_.write_timeout);
        net::async_write(s->stream(), http::make_chunk_last(),
                         beast::bind_front_handler(&http_session::on_write, s));
      });
    }

    void abort() override {
      auto s = session_;
      net::post(s->stream().get_executor(),
                [s] { beast::get_lowest_layer(s->stream()).close(); });
    }

  private:
    std::shared_ptr<Derived> session_;
  };

  /// Sends the header of a streamed response, then hands the body to
  /// `r.stream` (to a HEAD request: the header only, the stream never runs).
  void write_streamed(http_response r) {
    auto res = std::make_shared<http::response<http::empty_body>>(
      static_cast<http::status>(r.status), version_);
    res->set(http::field::server, "solod");
    res->set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) {
      res->insert(name, value);
    }
    res->keep_alive(keep_alive_);
    res->chunked(true);
    close_after_write_ = !keep_alive_;
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    response_ = std::make_shared<std::pair<decltype(res), decltype(sr)>>(res, sr);
    auto self = derived().shared_from_this();
    http::async_write_header(derived().stream(), *sr,
                             [self, stream = std::move(r.stream)](beast::error_code ec, std::size_t) {
      self->response_.reset();
      if (ec) {
        beast::get_lowest_layer(self->stream()).close();
        return;
      }
      if (self->is_head_) {
        self->on_write(ec, 0);
        return;
      }
      // Between chunks the producer (a database query) takes its time; each
      // chunk write has its own deadline, so a stalled client is still dropped.
      beast::get_lowest_layer(self->stream()).expires_never();
      stream(std::make_shared<session_chunk_sink>(self));
    });
  }

public:
  /// Sends `r`; runs on the session's io thread.
  void write(http_response r) {
    ctx_.stats->count_response(r.status);
    if (r.stream) {
      write_streamed(std::move(r));
      return;
    }
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(r.status), version_);
    res->set(http::field::server, "solod");
    if (!r.content_type.empty()) {
      res->set(http::field::content_type, r.content_type);
    }
    for (auto& [name, value] : r.headers) {
      res->insert(name, value);
    }
    bool close = r.close || !keep_alive_;
    res->keep_alive(!close);
    res->body() = std::move(r.body);
    res->prepare_payload();
    if (is_head_) {
      res->body().clear();
    }
    response_ = res;
    close_after_write_ = close;
    beast::get_lowest_layer(derived().stream()).expires_after(ctx_.write_timeout);
    http::async_write(derived().stream(), *res,
                      beast::bind_front_handler(&http_session::on_write, derived().shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    response_.reset();
    if (ec) {
      beast::get_lowest_layer(derived().stream()).close();
      return;
    }
    if (close_after_write_) {
      derived().do_eof();
      return;
    }
    do_read();
  }

protected:
  beast::flat_buffer buffer_;
  const net_context& ctx_;
  std::string peer_;
  std::shared_ptr<void> response_; ///< what the outstanding write refers to
  connection_slot slot_;           ///< this socket's place under the caps; a WebSocket takes it

private:
  /// Set when the client hung up (or the session ended); shared with the requests' work.
  std::shared_ptr<std::atomic<bool>> gone_ = std::make_shared<std::atomic<bool>>(false);
  bool watching_ = false;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  bool is_head_ = false;
  unsigned version_ = 11;
};

/// HTTP over a plain TCP stream.
class plain_http_session : public http_session<plain_http_session>,
                           public std::enable_shared_from_this<plain_http_session> {
public:
  static constexpr bool secure = false;

  plain_http_session(beast::tcp_stream&& stream, beast::flat_buffer&& buffer,
                     const net_context& ctx, std::string peer, connection_slot slot)
    : http_session(std::move(buffer), ctx, std::move(peer), std::move(slot)),
      stream_(std::move(stream)) {}

  void run() { do_read(); }
  beast::tcp_stream& stream() { return stream_; }

  /// Gives the stream to a websocket session; this HTTP session ends.
  void hand_over(http::request<http::string_body> req, connection_info info, std::string token) {
    start_websocket_session(std::move(stream_), std::move(req), ctx_, std::move(info),
                            std::move(token), std::move(slot_));
  }

  /// Gives the stream to an Engine.IO websocket; this HTTP session ends.
  void hand_over_engineio(http::request<http::string_body> req, connection_info info,
                          std::string token, std::shared_ptr<engineio_session> existing) {
    start_engineio_websocket(std::move(stream_), std::move(req), ctx_, std::move(info),
                             std::move(token), std::move(slot_), std::move(existing));
  }

  /// Closes our sending side, then drains what the peer still sends for a
  /// moment, so that a response sent before the request was read (413) is
  /// not destroyed by a TCP reset.
  void do_eof() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    drained_ = 0;
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }

private:
  void drain() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > (4u << 20)) {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
        return;
      }
      self->drain();
    });
  }

  beast::tcp_stream stream_;
  std::array<char, 4096> scratch_{};
  std::size_t drained_ = 0;
};

/// HTTP over TLS.
class ssl_http_session : public http_session<ssl_http_session>,
                         public std::enable_shared_from_this<ssl_http_session> {
public:
  static constexpr bool secure = true;

  ssl_http_session(beast::tcp_stream&& stream, ssl::context& tls, beast::flat_buffer&& buffer,
                   const net_context& ctx, std::string peer, connection_slot slot)
    : http_session(std::move(buffer), ctx, std::move(peer), std::move(slot)),
      stream_(std::move(stream), tls) {}

  void run() {
    // The handshake has its own deadline (server.handshake_timeout), so a
    // client that starts one and stalls cannot hold the socket.
    beast::get_lowest_layer(stream_).expires_after(ctx_.handshake_timeout);
    // The detector's bytes are the start of the handshake.
    stream_.async_handshake(buffer_.data(), beast::bind_front_handler(
                                              &ssl_http_session::on_handshake, shared_from_this()));
  }

  tls_stream& stream() { return stream_; }

  /// Gives the stream to a websocket session; this HTTP session ends.
  void hand_over(http::request<http::string_body> req, connection_info info, std::string token) {
    start_websocket_session(std::move(stream_), std::move(req), ctx_, std::move(info),
                            std::move(token), std::move(slot_));
  }

  /// Gives the stream to an Engine.IO websocket; this HTTP session ends.
  void hand_over_engineio(http::request<http::string_body> req, connection_info info,
                          std::string token, std::shared_ptr<engineio_session> existing) {
    start_engineio_websocket(std::move(stream_), std::move(req), ctx_, std::move(info),
                             std::move(token), std::move(slot_), std::move(existing));
  }

  void do_eof() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::get_lowest_layer(self->stream_).close();
    });
  }

private:
  void on_handshake(beast::error_code ec) {
    if (ec) {
      spdlog::debug("tls handshake from {} failed: {}", peer_, ec.message());
      beast::get_lowest_layer(stream_).close();
      return;
    }
    buffer_.consume(buffer_.size()); // the engine took all of it
    do_read();
  }

  tls_stream stream_;
};

/// Looks at the first bytes of a connection to choose plain or TLS.
class detect_session : public std::enable_shared_from_this<detect_session> {
public:
  detect_session(tcp::socket&& socket, const net_context& ctx, connection_slot slot,
                 std::string peer)
    : stream_(std::move(socket)), ctx_(ctx), slot_(std::move(slot)), peer_(std::move(peer)) {}

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&detect_session::on_run, shared_from_this()));
  }

private:
  void on_run() {
    if (ctx_.cfg->server.tls == tls_mode::off) {
      std::make_shared<plain_http_session>(std::move(stream_), std::move(buffer_), ctx_,
                                           std::move(peer_), std::move(slot_))->run();
      return;
    }
    // The first bytes start a TLS handshake or a request: either way the
    // client has handshake_timeout to send them.
    stream_.expires_after(ctx_.handshake_timeout);
    beast::async_detect_ssl(stream_, buffer_,
                            beast::bind_front_handler(&detect_session::on_detect, shared_from_this()));
  }

  void on_detect(beast::error_code ec, bool is_tls) {
    if (ec) {
      stream_.close();
      return;
    }
    if (is_tls) {
      std::make_shared<ssl_http_session>(std::move(stream_), *ctx_.tls, std::move(buffer_), ctx_,
                                         std::move(peer_), std::move(slot_))->run();
      return;
    }
    if (ctx_.cfg->server.tls == tls_mode::required) {
      // Plain HTTP on a TLS-only port: no answer, the peer learns nothing.
      stream_.close();
      return;
    }
    std::make_shared<plain_http_session>(std::move(stream_), std::move(buffer_), ctx_,
                                         std::move(peer_), std::move(slot_))->run();
  }

  beast::tcp_stream stream_;
  const net_context& ctx_;
  connection_slot slot_;
  std::string peer_;
  beast::flat_buffer buffer_;
};

} // namespace

void start_http_session(tcp::socket socket, const net_context& ctx, connection_slot slot,
                        std::string peer) {
  std::make_shared<detect_session>(std::move(socket), ctx, std::move(slot), std::move(peer))->run();
}

} // namespace solod
