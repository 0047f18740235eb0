#pragma once
/// @brief A TLS stream for Beast that lets OpenSSL read and write the socket itself.

#include "net/tls_engine.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/coroutine.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/async_base.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <memory>

namespace solod {

/// Server-side TLS over a `beast::tcp_stream`, for Beast's HTTP and WebSocket.
///
/// Why it exists: asio's `ssl::stream` holds ~70 KiB per connection for the
/// connection's whole life (see `tls_engine`); this one holds the `SSL` and
/// nothing while idle (SSL_MODE_RELEASE_BUFFERS). OpenSSL reads and writes
/// the non-blocking socket through `tls_engine`. When it needs bytes that
/// are not there yet, an operation waits by reading through the tcp_stream
/// into the engine's 128-byte wake buffer: the tcp_stream's deadlines
/// (`expires_after`), cancellation and `close` work as they do for plain
/// connections, asio's reactor does the waiting, and a small message's whole
/// record arrives in that one read, so a TLS message costs the system calls
/// of a plain one. A read that the last one showed cannot succeed
/// (`tls_engine::may_have_input`) waits first instead of failing a read.
/// Everything runs on the connection's own network thread: no strand, no
/// extra thread.
///
/// It is its own lowest layer (`beast::get_lowest_layer`): `socket`,
/// `expires_after`, `expires_never` and `close` act on the TCP stream under it.
///
/// One read-side (read) and one write-side operation (handshake, write,
/// shutdown) may be outstanding at a time, as for any Beast stream. Only
/// write-side operations wait for output the kernel did not take at once;
/// output a read produced (a TLS 1.3 KeyUpdate answer) that the kernel did
/// not take goes out with the next write.
class tls_stream {
public:
  using next_layer_type = boost::beast::tcp_stream;
  using executor_type = next_layer_type::executor_type;

  /// A TLS connection over `next` with `ctx`'s certificate and settings:
  /// solod's side, or with `role_type::client` the load tool's.
  tls_stream(next_layer_type&& next, boost::asio::ssl::context& ctx,
             boost::beast::role_type role = boost::beast::role_type::server)
    : next_(std::move(next)),
      engine_(std::make_unique<tls_engine>(ctx.native_handle(),
                                           role == boost::beast::role_type::client)) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  SSL* native_handle() { return engine_->native_handle(); }

  // -- the lowest layer: the TCP stream's socket, deadline and close ---------------------
  boost::asio::ip::tcp::socket& socket() noexcept { return next_.socket(); }
  template <class Duration>
  void expires_after(Duration d) {
    next_.expires_after(d);
  }
  void expires_never() { next_.expires_never(); }
  void close() { next_.close(); }
  void cancel() { next_.cancel(); }
  /// Connects the TCP stream under it (a client's first step). Handler: void(error_code).
  template <class Endpoint, class Handler>
  auto async_connect(const Endpoint& to, Handler&& handler) {
    return next_.async_connect(to, std::forward<Handler>(handler));
  }
  /// For Beast's WebSocket timeouts (beast::close_socket).
  friend void beast_close_socket(tls_stream& s) { s.close(); }

  /// Runs the handshake; `already_read` is what the plain/TLS detector read
  /// (the start of the ClientHello; empty for a client). Handler: void(error_code).
  template <class ConstBufferSequence, class Handler>
  auto async_handshake(const ConstBufferSequence& already_read, Handler&& handler) {
    for (auto b : boost::beast::buffers_range_ref(already_read)) {
      engine_->feed(b.data(), b.size());
    }
    return start<handshake_step, void(boost::system::error_code)>(handshake_step{}, handler);
  }

  /// Sends close_notify and waits for the peer's. Handler: void(error_code).
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return start<shutdown_step, void(boost::system::error_code)>(shutdown_step{}, handler);
  }

  /// Reads application bytes into the first buffer. Handler: void(error_code, std::size_t).
  template <class MutableBufferSequence, class Handler>
  auto async_read_some(const MutableBufferSequence& buffers, Handler&& handler) {
    read_step step{*boost::asio::buffer_sequence_begin(buffers)};
    return start<read_step, void(boost::system::error_code, std::size_t)>(step, handler);
  }

  /// Writes up to one record (16 KiB) of `buffers`, several small buffers as
  /// one record. Handler: void(error_code, std::size_t).
  template <class ConstBufferSequence, class Handler>
  auto async_write_some(const ConstBufferSequence& buffers, Handler&& handler) {
    return start<write_step, void(boost::system::error_code, std::size_t)>(
      write_step::of(buffers), handler);
  }

private:
  static constexpr std::size_t record_size = 16384;

  struct handshake_step {
    static constexpr bool with_bytes = false;
    static constexpr bool flushes = true;
    bool waits_first() const { return false; }
    tls_engine::result operator()(tls_engine& e) const { return e.handshake(); }
  };
  struct shutdown_step {
    static constexpr bool with_bytes = false;
    static constexpr bool flushes = true;
    bool waits_first() const { return false; }
    tls_engine::result operator()(tls_engine& e) const { return e.shutdown(); }
  };
  struct read_step {
    static constexpr bool with_bytes = true;
    static constexpr bool flushes = false;
    boost::asio::mutable_buffer into;
    /// An empty read completes at once; another waits first when it cannot succeed.
    bool waits_first() const { return into.size() > 0; }
    tls_engine::result operator()(tls_engine& e) const {
      return into.size() == 0 ? tls_engine::result{} : e.read(into.data(), into.size());
    }
  };
  struct write_step {
    static constexpr bool with_bytes = true;
    static constexpr bool flushes = true;
    bool waits_first() const { return false; }
    boost::asio::const_buffer from;

    /// One record's worth of `buffers`; several small ones copied into one
    /// thread-local block (SSL_write consumes it before the step returns).
    template <class ConstBufferSequence>
    static write_step of(const ConstBufferSequence& buffers) {
      auto first = boost::asio::const_buffer(*boost::asio::buffer_sequence_begin(buffers));
      std::size_t total = boost::asio::buffer_size(buffers);
      if (first.size() >= std::min(total, record_size)) {
        return {boost::asio::const_buffer(first.data(), std::min(first.size(), record_size))};
      }
      thread_local std::array<char, record_size> block;
      std::size_t n = boost::asio::buffer_copy(boost::asio::buffer(block), buffers);
      return {boost::asio::const_buffer(block.data(), n)};
    }
    tls_engine::result operator()(tls_engine& e) {
      if (from.size() == 0) {
        return {};
      }
      tls_engine::result r = e.write(from.data(), from.size());
      if (r.want_input) {
        // Only a renegotiation (refused) or an unfinished handshake would make a write read.
        r = {boost::asio::error::operation_not_supported, 0, false};
      }
      return r;
    }
  };

  template <class Step, class Handler>
  class op;

  template <class Step, class Signature, class Handler>
  auto start(Step step, Handler& handler) {
    return boost::asio::async_initiate<Handler, Signature>(
      [this](auto&& h, Step s) {
        op<Step, std::decay_t<decltype(h)>>(std::move(h), *this, std::move(s));
      },
      handler, std::move(step));
  }

  int fd() { return next_.socket().is_open() ? next_.socket().native_handle() : -1; }

  next_layer_type next_;
  std::unique_ptr<tls_engine> engine_; ///< on the heap: its BIO points at it, and the stream moves
};

/// One operation: run the step; flush what the kernel did not take (if the
/// step may); when the step needs input, read into the wake buffer; repeat.
template <class Step, class Handler>
class tls_stream::op : public boost::beast::async_base<Handler, executor_type>,
                       public boost::asio::coroutine {
public:
  template <class H>
  op(H&& handler, tls_stream& stream, Step step)
    : boost::beast::async_base<Handler, executor_type>(std::forward<H>(handler),
                                                       stream.get_executor()),
      stream_(stream), step_(std::move(step)) {
    (*this)({}, 0, false);
  }

  void operator()(boost::system::error_code ec = {}, std::size_t n = 0, bool cont = true) {
    tls_engine& e = *stream_.engine_;
    BOOST_ASIO_CORO_REENTER(*this) {
      for (;;) {
        e.set_socket(stream_.fd());
        if (step_.waits_first() && !e.may_have_input()) {
          result_ = {{}, 0, true};
        } else {
          result_ = step_(e);
        }
        while (Step::flushes && e.has_output()) {
          BOOST_ASIO_CORO_YIELD boost::asio::async_write(
            stream_.next_, boost::asio::buffer(e.begin_flush()), std::move(*this));
          e.end_flush();
          if (ec) {
            result_ = {ec, 0, false};
            break;
          }
        }
        if (!result_.want_input || result_.ec) {
          break;
        }
        BOOST_ASIO_CORO_YIELD stream_.next_.async_read_some(
          boost::asio::buffer(e.wake_buffer()), std::move(*this));
        if (ec) {
          // The peer's TCP end while OpenSSL still expects bytes: no close_notify came.
          result_.ec = ec == boost::asio::error::eof
                         ? boost::system::error_code(boost::asio::ssl::error::stream_truncated)
                         : ec;
          break;
        }
        e.took_wake_bytes(n);
      }
      if constexpr (Step::with_bytes) {
        this->complete(cont, result_.ec, result_.bytes);
      } else {
        this->complete(cont, result_.ec);
      }
    }
  }

private:
  tls_stream& stream_;
  Step step_;
  tls_engine::result result_;
};

/// Beast's WebSocket close: TLS shutdown (close_notify both ways), found by ADL.
template <class Handler>
void async_teardown(boost::beast::role_type, tls_stream& stream, Handler&& handler) {
  stream.async_shutdown(std::forward<Handler>(handler));
}

} // namespace solod
