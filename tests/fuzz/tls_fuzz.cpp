/// @brief Fuzz target: a client's bytes into solod's TLS record path (net/tls_engine),
/// with solod's real server context (net/tls_context).
///
/// The first byte chooses what the rest is:
///  - 0: the client's first flight: ClientHello parsing, alerts and records before a handshake;
///  - 1: records after a real handshake with an in-memory OpenSSL client (forged
///       records: headers, lengths, alerts, MAC failures);
///  - 2: application data the client encrypts after that handshake, its records
///       delivered in pieces whose sizes the input chooses, every other one
///       through the wake buffer `tls_stream`'s waits read into.
/// The engine runs in `in_memory` mode: no socket, its output stays in `out_`.

#include "config/config.hpp"
#include "net/tls_context.hpp"
#include "net/tls_engine.hpp"

#include <openssl/err.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

using namespace solod;

namespace {

SSL_CTX* server_ctx() {
  static auto ctx = [] {
    auto dir = std::filesystem::temp_directory_path() /
               ("solod-tls-fuzz-" + std::to_string(::getpid()));
    config cfg;
    auto made = make_tls_context(cfg, dir.string());
    std::filesystem::remove_all(dir);
    return made;
  }();
  return ctx->native_handle();
}

SSL_CTX* client_ctx() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    return c;
  }();
  return ctx;
}

/// Moves what the server wrote into the client's input BIO.
void server_to_client(tls_engine& server, BIO* client_in) {
  if (server.has_output()) {
    const std::string& out = server.begin_flush();
    BIO_write(client_in, out.data(), static_cast<int>(out.size()));
    server.end_flush();
  }
}

/// Everything the client wrote.
std::string drain(BIO* client_out) {
  std::string bytes;
  char buf[4096];
  int n;
  while ((n = BIO_read(client_out, buf, sizeof buf)) > 0) {
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  return bytes;
}

/// A full handshake between `server` and an in-memory client; false if it did not finish.
bool handshake(tls_engine& server, SSL* client, BIO* client_in, BIO* client_out) {
  for (int round = 0; round < 10; ++round) {
    int c = SSL_do_handshake(client);
    std::string flight = drain(client_out);
    server.feed(flight.data(), flight.size());
    tls_engine::result s = server.handshake();
    server_to_client(server, client_in);
    if (s.ec) {
      return false;
    }
    if (c == 1 && !s.want_input) {
      return true;
    }
  }
  return false;
}

/// Reads what the server can until it wants input or fails; bounded.
void read_all(tls_engine& server) {
  char buf[2048];
  for (int i = 0; i < 64; ++i) {
    tls_engine::result r = server.read(buf, sizeof buf);
    if (r.ec || r.want_input) {
      return;
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  int mode = data[0] % 3;
  const char* rest = reinterpret_cast<const char*>(data + 1);
  std::size_t n = size - 1;

  tls_engine server(server_ctx());
  server.set_socket(tls_engine::in_memory);
  if (mode == 0) {
    server.feed(rest, n);
    if (!server.handshake().ec) {
      read_all(server);
    }
    ERR_clear_error();
    return 0;
  }

  SSL* client = SSL_new(client_ctx());
  BIO* client_in = BIO_new(BIO_s_mem());
  BIO* client_out = BIO_new(BIO_s_mem());
  SSL_set_bio(client, client_in, client_out);
  SSL_set_connect_state(client);
  if (handshake(server, client, client_in, client_out)) {
    if (mode == 1) {
      server.feed(rest, n);
      read_all(server);
    } else {
      // The input's first half chooses the pieces' sizes, the second is the data.
      std::size_t half = n / 2;
      if (n - half > 0) {
        SSL_write(client, rest + half, static_cast<int>(n - half));
      }
      std::string records = drain(client_out);
      std::size_t at = 0;
      for (std::size_t i = 0; at < records.size(); ++i) {
        std::size_t piece = i < half ? 1 + static_cast<unsigned char>(rest[i]) % 64 : records.size();
        piece = std::min(piece, records.size() - at);
        if (i % 2 == 0) { // as tls_stream's wait does: through the wake buffer
          piece = std::min(piece, server.wake_buffer().size());
          std::memcpy(server.wake_buffer().data(), records.data() + at, piece);
          server.took_wake_bytes(piece);
        } else {
          server.feed(records.data() + at, piece);
        }
        at += piece;
        read_all(server);
      }
      server.shutdown();
    }
  }
  SSL_free(client);
  ERR_clear_error();
  return 0;
}
