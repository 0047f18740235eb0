// Tests for src/net/tls_stream.hpp and tls_engine.*: solod's server side on
// a real loopback socket against a blocking OpenSSL client on its own thread.
// The server's io_context runs on the test thread until the step under test
// completes; nothing waits on a sleep.

#include "config/config.hpp"
#include "net/tls_context.hpp"
#include "net/tls_stream.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>
#include <openssl/err.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>

using namespace solod;
namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

/// solod's real server context (make_tls_context), with a certificate generated once.
std::shared_ptr<net::ssl::context> server_context() {
  static auto ctx = [] {
    auto dir = std::filesystem::temp_directory_path() /
               ("solod-tls-stream-test-" + std::to_string(::getpid()));
    config cfg;
    auto made = make_tls_context(cfg, dir.string());
    std::filesystem::remove_all(dir);
    return made;
  }();
  return ctx;
}

/// A client context: no verification (the certificate is self-signed), versions as asked.
SSL_CTX* client_context(int min_version, int max_version) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  if (min_version < TLS1_2_VERSION) {
    SSL_CTX_set_security_level(ctx, 0); // OpenSSL 3 refuses to offer TLS 1.1 above level 0
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
  }
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  return ctx;
}

/// The server end: an acceptor on 127.0.0.1, one accepted connection as a tls_stream.
struct server_end {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0)};
  std::optional<tls_stream> stream;

  unsigned short port() const { return acceptor.local_endpoint().port(); }

  /// Accepts the client's connection; `prefix` bytes are first read plainly, as the detector does.
  std::string accept(std::size_t prefix = 0) {
    tcp::socket socket(ioc);
    acceptor.accept(socket);
    beast::tcp_stream tcp_stream(std::move(socket));
    std::string head(prefix, '\0');
    if (prefix > 0) {
      net::read(tcp_stream.socket(), net::buffer(head));
    }
    stream.emplace(std::move(tcp_stream), *server_context());
    return head;
  }

  /// Runs the io_context until `done` (or 20 s, a hung test's bound).
  void run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(10));
    }
    REQUIRE(done());
  }

  error_code handshake(const std::string& head) {
    std::optional<error_code> result;
    stream->async_handshake(net::buffer(head), [&](error_code ec) { result = ec; });
    run_until([&] { return result.has_value(); });
    return *result;
  }
};

/// A blocking client socket connected to 127.0.0.1:port.
int connect_to(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval bound{10, 0}; // a client never blocks a failing test for ever
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
  return fd;
}

/// A blocking OpenSSL client over `fd`.
struct client_end {
  SSL_CTX* ctx;
  SSL* ssl;
  int fd;

  client_end(unsigned short port, int min_version = TLS1_2_VERSION,
             int max_version = TLS1_3_VERSION)
    : ctx(client_context(min_version, max_version)), ssl(SSL_new(ctx)), fd(connect_to(port)) {
    SSL_set_fd(ssl, fd);
  }
  ~client_end() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) {
      ::close(fd);
    }
  }

  /// SSL_connect; on failure, the reason of the first error on the queue.
  int connect() {
    ERR_clear_error();
    if (SSL_connect(ssl) == 1) {
      return 0;
    }
    int reason = ERR_GET_REASON(ERR_peek_error());
    ERR_clear_error();
    return reason == 0 ? -1 : reason;
  }

  std::string read_exactly(std::size_t n) {
    std::string got(n, '\0');
    std::size_t have = 0;
    while (have < n) {
      int r = SSL_read(ssl, got.data() + have, static_cast<int>(n - have));
      if (r <= 0) {
        break;
      }
      have += static_cast<std::size_t>(r);
    }
    got.resize(have);
    return got;
  }

  bool write_all(const std::string& data) {
    return SSL_write(ssl, data.data(), static_cast<int>(data.size())) ==
           static_cast<int>(data.size());
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  }
  return s;
}

/// Reads exactly `n` bytes from the server's stream.
std::pair<error_code, std::string> server_read(server_end& server, std::size_t n) {
  auto data = std::make_shared<std::string>(n, '\0');
  std::optional<error_code> result;
  net::async_read(*server.stream, net::buffer(*data),
                  [&](error_code ec, std::size_t got) {
                    data->resize(got);
                    result = ec;
                  });
  server.run_until([&] { return result.has_value(); });
  return {*result, *data};
}

} // namespace

TEST_CASE("tls_stream: handshake after the detector's bytes, then data both ways") {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    server_end server;
    auto client_done = std::async(std::launch::async, [&] {
      client_end client(server.port(), version, version);
      REQUIRE(client.connect() == 0);
      CHECK(SSL_version(client.ssl) == version);
      REQUIRE(client.write_all("hello from the client"));
      return client.read_exactly(5);
    });
    auto head = server.accept(11); // the detector read 11 bytes of the ClientHello
    REQUIRE_FALSE(server.handshake(head));
    CHECK(SSL_version(server.stream->native_handle()) == version);
    auto [ec, got] = server_read(server, 21);
    REQUIRE_FALSE(ec);
    CHECK(got == "hello from the client");
    std::optional<error_code> wrote;
    net::async_write(*server.stream, net::buffer("pong!", 5),
                     [&](error_code e, std::size_t) { wrote = e; });
    server.run_until([&] { return wrote.has_value(); });
    CHECK_FALSE(*wrote);
    CHECK(client_done.get() == "pong!");
  }
}

TEST_CASE("tls_stream: a second connection resumes with the first one's ticket") {
  SSL_SESSION* ticket = nullptr;
  for (int round = 0; round < 2; ++round) {
    server_end server;
    auto client_done = std::async(std::launch::async, [&] {
      client_end client(server.port());
      if (ticket) {
        REQUIRE(SSL_set_session(client.ssl, ticket) == 1);
      }
      REQUIRE(client.connect() == 0);
      bool reused = SSL_session_reused(client.ssl) == 1;
      client.read_exactly(2); // the ticket arrives before the data (TLS 1.3)
      if (!ticket) {
        ticket = SSL_get1_session(client.ssl);
        CHECK(SSL_SESSION_has_ticket(ticket) == 1);
      }
      // Freed without a shutdown, OpenSSL would mark the session unusable.
      SSL_shutdown(client.ssl);
      return reused;
    });
    REQUIRE_FALSE(server.handshake(server.accept()));
    std::optional<error_code> wrote;
    net::async_write(*server.stream, net::buffer("ok", 2), [&](error_code e, std::size_t) {
      wrote = e;
    });
    server.run_until([&] { return wrote.has_value(); });
    bool reused = client_done.get();
    CHECK(reused == (round == 1));
    CHECK(SSL_session_reused(server.stream->native_handle()) == (round == 1 ? 1 : 0));
  }
  REQUIRE(ticket != nullptr);
  SSL_SESSION_free(ticket);
}

TEST_CASE("tls_stream: a 1 MiB message each way") {
  server_end server;
  const std::string mib = pattern(1 << 20);
  auto client_done = std::async(std::launch::async, [&] {
    client_end client(server.port());
    REQUIRE(client.connect() == 0);
    bool sent = client.write_all(mib);
    return std::make_pair(sent, client.read_exactly(mib.size()));
  });
  REQUIRE_FALSE(server.handshake(server.accept()));
  server.stream->expires_never(); // waits by readiness (the WebSocket phase), not by a byte
  auto [ec, got] = server_read(server, mib.size());
  REQUIRE_FALSE(ec);
  CHECK(got == mib);
  std::optional<error_code> wrote;
  std::size_t written = 0;
  net::async_write(*server.stream, net::buffer(mib), [&](error_code e, std::size_t n) {
    wrote = e;
    written = n;
  });
  server.run_until([&] { return wrote.has_value(); });
  CHECK_FALSE(*wrote);
  CHECK(written == mib.size());
  auto [sent, echoed] = client_done.get();
  CHECK(sent);
  CHECK(echoed == mib);
}

TEST_CASE("tls_stream: records split across TCP segments, and several records in one segment") {
  server_end server;
  std::promise<void> server_read_all;
  auto client_done = std::async(std::launch::async, [&] {
    // The client's records go through memory BIOs, so the test decides how
    // they are cut into TCP segments.
    client_end client(server.port());
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(client.ssl, in, out);
    SSL_set_connect_state(client.ssl);
    auto send_out = [&](std::size_t chunk) {
      char buf[4096];
      int n;
      while ((n = BIO_read(out, buf, sizeof buf)) > 0) {
        for (int at = 0; at < n; at += static_cast<int>(chunk)) {
          int k = std::min(n - at, static_cast<int>(chunk));
          REQUIRE(::send(client.fd, buf + at, static_cast<std::size_t>(k), MSG_NOSIGNAL) == k);
        }
      }
    };
    for (int r; (r = SSL_do_handshake(client.ssl)) != 1;) {
      INFO("client handshake: " << ERR_error_string(ERR_peek_error(), nullptr));
      REQUIRE(SSL_get_error(client.ssl, r) == SSL_ERROR_WANT_READ);
      send_out(4096);
      char buf[4096];
      ssize_t got = ::recv(client.fd, buf, sizeof buf, 0);
      REQUIRE(got > 0);
      BIO_write(in, buf, static_cast<int>(got));
    }
    send_out(4096);
    // Three records, one send().
    for (const char* part : {"one,", "two,", "three;"}) {
      REQUIRE(SSL_write(client.ssl, part, static_cast<int>(std::strlen(part))) > 0);
    }
    send_out(1 << 20);
    // One record of 3,000 bytes, one byte per segment for its first 64
    // bytes (header and start of the body), then 7 bytes per segment.
    std::string big = pattern(3000);
    REQUIRE(SSL_write(client.ssl, big.data(), static_cast<int>(big.size())) == 3000);
    char rec[8192];
    int n = BIO_read(out, rec, sizeof rec);
    REQUIRE(n > 3000);
    for (int at = 0; at < n;) {
      int k = at < 64 ? 1 : std::min(7, n - at);
      REQUIRE(::send(client.fd, rec + at, static_cast<std::size_t>(k), MSG_NOSIGNAL) == k);
      at += k;
      if (at % 97 == 0) {
        std::this_thread::yield();
      }
    }
    // Closing with the server's ticket unread would reset the connection
    // under the server's last read: wait until it has read.
    server_read_all.get_future().wait();
    return true;
  });
  REQUIRE_FALSE(server.handshake(server.accept()));
  server.stream->expires_never();
  auto [ec, got] = server_read(server, 14);
  REQUIRE_FALSE(ec);
  CHECK(got == "one,two,three;");
  auto [ec2, big] = server_read(server, 3000);
  server_read_all.set_value();
  REQUIRE_FALSE(ec2);
  CHECK(big == pattern(3000));
  CHECK(client_done.get());
}

TEST_CASE("tls_stream: close_notify both ways") {
  SECTION("the client's close_notify ends the server's read with eof") {
    server_end server;
    std::promise<void> closed;
    auto client_done = std::async(std::launch::async, [&] {
      client_end client(server.port());
      REQUIRE(client.connect() == 0);
      REQUIRE(SSL_shutdown(client.ssl) == 0); // sent; the server's not yet received
      closed.get_future().wait();
    });
    REQUIRE_FALSE(server.handshake(server.accept()));
    auto [ec, got] = server_read(server, 10);
    CHECK(ec == net::error::eof);
    CHECK(got.empty());
    closed.set_value();
    client_done.get();
  }
  SECTION("the server's shutdown sends close_notify and completes on the client's") {
    server_end server;
    auto client_done = std::async(std::launch::async, [&] {
      client_end client(server.port());
      REQUIRE(client.connect() == 0);
      char c;
      int r = SSL_read(client.ssl, &c, 1);
      int err = SSL_get_error(client.ssl, r);
      int answer = SSL_shutdown(client.ssl); // the client's close_notify back
      return std::make_pair(err, answer);
    });
    REQUIRE_FALSE(server.handshake(server.accept()));
    std::optional<error_code> shut;
    server.stream->async_shutdown([&](error_code ec) { shut = ec; });
    server.run_until([&] { return shut.has_value(); });
    CHECK_FALSE(*shut);
    auto [err, answer] = client_done.get();
    CHECK(err == SSL_ERROR_ZERO_RETURN);
    CHECK(answer == 1);
  }
}

TEST_CASE("tls_stream: a TCP end without close_notify is a truncated stream") {
  server_end server;
  auto client_done = std::async(std::launch::async, [&] {
    client_end client(server.port());
    REQUIRE(client.connect() == 0);
    ::shutdown(client.fd, SHUT_RDWR);
  });
  REQUIRE_FALSE(server.handshake(server.accept()));
  client_done.get();
  SECTION("waiting by a byte through the tcp_stream (a deadline is set)") {
    auto [ec, got] = server_read(server, 10);
    CHECK(ec == net::ssl::error::stream_truncated);
  }
  SECTION("waiting by readiness") {
    server.stream->expires_never();
    auto [ec, got] = server_read(server, 10);
    CHECK(ec == net::ssl::error::stream_truncated);
  }
}

TEST_CASE("tls_stream: TLS 1.1 is refused by protocol version") {
  server_end server;
  auto client_done = std::async(std::launch::async, [&] {
    client_end client(server.port(), TLS1_1_VERSION, TLS1_1_VERSION);
    return client.connect();
  });
  error_code ec = server.handshake(server.accept());
  REQUIRE(ec);
  CHECK(ec.category() == net::error::get_ssl_category());
  CHECK(ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_UNSUPPORTED_PROTOCOL);
  CHECK(client_done.get() == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
}

TEST_CASE("tls_stream: a client's renegotiation is refused") {
  server_end server;
  std::promise<void> refused;
  auto client_done = std::async(std::launch::async, [&] {
    client_end client(server.port(), TLS1_2_VERSION, TLS1_2_VERSION);
    REQUIRE(client.connect() == 0);
    REQUIRE(SSL_renegotiate(client.ssl) == 1);
    ERR_clear_error();
    int r = SSL_do_handshake(client.ssl); // sends a ClientHello, reads the answer
    int reason = r == 1 ? 0 : ERR_GET_REASON(ERR_peek_error());
    ERR_clear_error();
    refused.set_value();
    return reason;
  });
  REQUIRE_FALSE(server.handshake(server.accept()));
  // The server reads (and so sees the ClientHello) while the client waits for an answer.
  auto data = std::make_shared<std::array<char, 16>>();
  std::optional<error_code> read_result;
  server.stream->async_read_some(net::buffer(*data), [&](error_code ec, std::size_t) {
    read_result = ec;
  });
  auto refused_seen = refused.get_future();
  server.run_until([&] {
    return refused_seen.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  });
  // The server answered no_renegotiation; the client gives up on the connection.
  CHECK(client_done.get() == SSL_R_NO_RENEGOTIATION);
  CHECK(SSL_total_renegotiations(server.stream->native_handle()) == 0);
  server.run_until([&] { return read_result.has_value(); });
  CHECK(*read_result); // the client's fatal alert, not data
}

TEST_CASE("tls_stream: a client that stops mid-handshake meets the tcp_stream's deadline") {
  server_end server;
  std::promise<void> server_gave_up;
  auto client_done = std::async(std::launch::async, [&] {
    int fd = connect_to(server.port());
    const unsigned char part_of_a_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
    ::send(fd, part_of_a_hello, sizeof part_of_a_hello, MSG_NOSIGNAL);
    server_gave_up.get_future().wait();
    char c;
    ssize_t got = ::recv(fd, &c, 1, 0); // the server closed: eof (or a reset)
    ::close(fd);
    return got;
  });
  server.accept();
  beast::get_lowest_layer(*server.stream).expires_after(std::chrono::milliseconds(200));
  error_code ec = server.handshake({});
  server_gave_up.set_value();
  CHECK(ec == beast::error::timeout);
  CHECK_FALSE(beast::get_lowest_layer(*server.stream).socket().is_open());
  CHECK(client_done.get() <= 0);
}
