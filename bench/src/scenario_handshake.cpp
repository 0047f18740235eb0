// Scenario handshake (issue 12): the raw OpenSSL handshake rate on this
// machine, no solod. The yardstick of TLS connects/s: solod's connect over
// TLS is a handshake plus an HTTP upgrade, a token check and a welcome.
//
// Server: solod's own TLS context (src/net/tls_context.cpp: same versions,
// same ticket and cache settings) with the certificate and key solod used in
// the same run (--cert/--key, from its data directory), so key, certificate
// and cipher suite are the same. Client: the context solod-bench's connect
// uses. --threads server threads (blocking accept + SSL_accept) and as many
// client threads (blocking connect + SSL_connect) over 127.0.0.1, for
// --seconds; the rate is completed client handshakes per second.

#include "clock.hpp"
#include "options.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include "config/config.hpp"
#include "net/tls_context.hpp"

#include <nlohmann/json.hpp>
#include <openssl/ssl.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace bench {

namespace {

int listen_loopback(unsigned short& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 1024) != 0) {
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

int connect_loopback(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }
  if (fd >= 0) {
    ::close(fd);
  }
  return -1;
}

/// Accepts and handshakes until the listening socket is shut down.
void serve(int listener, SSL_CTX* ctx) {
  for (;;) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) {
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_accept(ssl);
    SSL_free(ssl);
    ::close(fd);
  }
}

} // namespace

int run_handshake(const arguments& args) {
  options opts("handshake", {
    {"cert", "", "the certificate solod served (its data/cert.pem)"},
    {"key", "", "its key (data/key.pem)"},
    {"seconds", "5", "how long to handshake"},
    {"threads", "2", "server threads, and as many client threads"},
    {"timeout", "900", "the run's bound in seconds (run.sh passes it to every scenario)"},
  });
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  if (!opts.given("cert") || !opts.given("key")) {
    throw usage_error("handshake: --cert and --key are required");
  }
  solod::config cfg;
  cfg.server.cert_file = opts.str("cert");
  cfg.server.key_file = opts.str("key");
  auto server_ctx = solod::make_tls_context(cfg, "");
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, nullptr);

  const auto threads = static_cast<int>(std::max(1LL, opts.integer("threads")));
  const double seconds = std::clamp(opts.number("seconds"), 0.5, std::max(0.5, opts.number("timeout")));
  unsigned short port = 0;
  int listener = listen_loopback(port);
  std::vector<std::thread> servers;
  for (int i = 0; i < threads; ++i) {
    servers.emplace_back(serve, listener, server_ctx->native_handle());
  }

  std::atomic<long long> done{0}, failed{0};
  std::string version, cipher;
  const std::int64_t start = now_ns();
  const std::int64_t deadline = start + ns_of_seconds(seconds);
  std::vector<std::thread> clients;
  for (int i = 0; i < threads; ++i) {
    clients.emplace_back([&, i] {
      while (now_ns() < deadline) {
        int fd = connect_loopback(port);
        SSL* ssl = SSL_new(client_ctx);
        SSL_set_fd(ssl, fd);
        if (fd >= 0 && SSL_connect(ssl) == 1) {
          done++;
          if (i == 0 && version.empty()) {
            version = SSL_get_version(ssl);
            cipher = SSL_get_cipher_name(ssl);
          }
        } else {
          failed++;
        }
        SSL_free(ssl);
        if (fd >= 0) {
          ::close(fd);
        }
      }
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  const double elapsed = seconds_of(now_ns() - start);
  ::shutdown(listener, SHUT_RDWR); // wakes the blocked accepts
  for (auto& t : servers) {
    t.join();
  }
  ::close(listener);
  SSL_CTX_free(client_ctx);

  const double rate = static_cast<double>(done.load()) / elapsed;
  nlohmann::json result = {
    {"scenario", "handshake"}, {"label", "openssl"}, {"proto", "openssl"}, {"tls", true},
    {"handshakes", done.load()}, {"failed", failed.load()}, {"seconds", elapsed},
    {"threads", threads}, {"handshakes_per_s", rate}, {"version", version}, {"cipher", cipher},
    {"ok", failed.load() == 0 && done.load() > 0},
  };
  print_report("handshake (raw OpenSSL over 127.0.0.1, no solod)",
               {{"handshakes", std::to_string(done.load())},
                {"failed", std::to_string(failed.load())},
                {"threads", std::to_string(threads) + " server + " + std::to_string(threads) + " client"},
                {"version, cipher", version + ", " + cipher},
                {"handshakes/s", fmt(rate)}},
               result);
  return result["ok"].get<bool>() ? 0 : 1;
}

} // namespace bench
