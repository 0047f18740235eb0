#include "net/listener.hpp"

#include "net/connection_limiter.hpp"
#include "net/http_session.hpp"
#include "net/io_pool.hpp"
#include "net/net_context.hpp"
#include "util/metrics.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace solod {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// The peer's address as text; an IPv4-mapped IPv6 address as plain IPv4.
std::string peer_address(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) {
    return "";
  }
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6()).to_string();
  }
  return addr.to_string();
}

} // namespace

listener::listener(io_pool& pool, const net_context& ctx)
  : pool_(pool), ctx_(ctx), acceptor_(pool.first()), backoff_(acceptor_.get_executor()) {}

void listener::start(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    throw std::runtime_error("server.listen: '" + address + "' is not HOST:PORT");
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  tcp::resolver resolver(pool_.first());
  auto results = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw std::runtime_error("server.listen: cannot resolve '" + address + "': " + ec.message());
  }
  tcp::endpoint ep = results.begin()->endpoint();
  acceptor_.open(ep.protocol(), ec);
  if (!ec) {
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_.bind(ep, ec);
  }
  if (!ec) {
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::runtime_error("server.listen: cannot listen on '" + address + "': " + ec.message());
  }
  do_accept();
}

tcp::endpoint listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->backoff_.cancel();
  });
}

void listener::do_accept() {
  // The connection lives on one single-threaded context: its handlers never
  // run concurrently, with no strand to pay for.
  acceptor_.async_accept(pool_.next(),
                         boost::beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
    return;
  }
  if (ec) {
    // EMFILE and friends: keep serving, but pause so a full file table does
    // not turn the accept loop into a busy loop.
    spdlog::warn("accept failed: {}", ec.message());
    backoff_.expires_after(std::chrono::milliseconds(50));
    backoff_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) {
        self->do_accept();
      }
    });
    return;
  }
  auto peer = peer_address(socket);
  // Every accepted socket holds a place until it closes, whatever it becomes;
  // over a cap it is closed at once, before it costs a session or a read.
  if (auto slot = ctx_.limiter->try_admit(peer)) {
    socket.set_option(tcp::no_delay(true), ec);
    start_http_session(std::move(socket), ctx_, std::move(slot), std::move(peer));
  } else {
    boost::system::error_code ignored;
    socket.close(ignored);
  }
  do_accept();
}

} // namespace solod
