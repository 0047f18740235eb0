#pragma once
/// @brief Accepts TCP connections on the configured address and starts an HTTP session for each.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>

namespace solod {

class io_pool;
struct net_context;

/// The listening socket. `start` binds (throwing std::runtime_error naming the
/// address on failure); `stop` closes it so no new connection is accepted.
/// Each accepted socket first takes a place from the context's
/// connection_limiter; a socket over max_connections or its address's
/// max_connections_per_ip is closed at once.
class listener : public std::enable_shared_from_this<listener> {
public:
  /// Accepts on `pool.first()` and hands each connection to the pool's next context.
  listener(io_pool& pool, const net_context& ctx);

  /// Binds `address` ("host:port", "[v6]:port"; port 0 picks a free one) and starts accepting.
  void start(const std::string& address);

  /// The bound endpoint (with the real port).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// Stops accepting.
  void stop();

private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  io_pool& pool_;
  const net_context& ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_; ///< pauses accepting after EMFILE and the like
};

} // namespace solod
