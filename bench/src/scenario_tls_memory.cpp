// Scenario tls-memory (issue 12): what OpenSSL keeps for one idle TLS
// connection of solod, by allocation site, and what solod's tls_engine adds.
//
// OpenSSL's allocations go through CRYPTO_set_mem_functions hooks (set
// before OpenSSL allocates anything else in this process), so every live
// block is known with its file:line in OpenSSL's source. One server-side
// tls_engine with solod's context (src/net/tls_context.cpp) completes a
// handshake with an in-memory client and reads one record; the blocks still
// live then are the idle connection's OpenSSL state. A warm-up connection
// first, so that the context's lazily built tables are not counted.
// --connections N more engines are then measured with mallinfo2 (glibc's
// own accounting, chunk overhead included) for the per-connection total.

#include "options.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include "config/config.hpp"
#include "net/tls_context.hpp"
#include "net/tls_engine.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {

namespace {

struct block {
  std::size_t size;
  const char* file;
  int line;
};

bool tracking = false;
std::map<void*, block>* live_blocks = nullptr;

void remember(void* p, std::size_t n, const char* file, int line) {
  if (tracking && p) {
    tracking = false; // the map's own allocations are not OpenSSL's
    (*live_blocks)[p] = {n, file ? file : "?", line};
    tracking = true;
  }
}

void forget(void* p) {
  if (tracking && p) {
    tracking = false;
    live_blocks->erase(p);
    tracking = true;
  }
}

void* hooked_malloc(std::size_t n, const char* file, int line) {
  void* p = std::malloc(n);
  remember(p, n, file, line);
  return p;
}

void* hooked_realloc(void* old, std::size_t n, const char* file, int line) {
  forget(old);
  void* p = std::realloc(old, n);
  remember(p, n, file, line);
  return p;
}

void hooked_free(void* p, const char*, int) {
  forget(p);
  std::free(p);
}

std::string drain(BIO* bio) {
  std::string bytes;
  char buf[4096];
  int n;
  while ((n = BIO_read(bio, buf, sizeof buf)) > 0) {
    bytes.append(buf, static_cast<std::size_t>(n));
  }
  return bytes;
}

/// A handshake and one application record into `server`; false if the handshake failed.
/// `track` turns the hooks on around the server's steps only.
bool connect_idle(solod::tls_engine& server, SSL_CTX* client_ctx, bool track) {
  SSL* client = SSL_new(client_ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(client, in, out);
  SSL_set_connect_state(client);
  bool done = false;
  for (int round = 0; round < 10 && !done; ++round) {
    int c = SSL_do_handshake(client);
    std::string flight = drain(out);
    tracking = track;
    server.feed(flight.data(), flight.size());
    auto s = server.handshake();
    tracking = false;
    if (server.has_output()) {
      const std::string& o = server.begin_flush();
      BIO_write(in, o.data(), static_cast<int>(o.size()));
      server.end_flush();
    }
    if (s.ec) {
      break;
    }
    done = c == 1 && !s.want_input;
  }
  if (done) {
    SSL_write(client, "hello", 5);
    std::string record = drain(out);
    char got[16];
    tracking = track;
    server.feed(record.data(), record.size());
    server.read(got, sizeof got);
    server.read(got, sizeof got); // wants input: idle, buffers released
    tracking = false;
  }
  SSL_free(client);
  return done;
}

} // namespace

int run_tls_memory(const arguments& args) {
  live_blocks = new std::map<void*, block>; // before the hooks: never freed, never tracked
  const bool hooked = CRYPTO_set_mem_functions(hooked_malloc, hooked_realloc, hooked_free) == 1;
  options opts("tls-memory", {
    {"connections", "1000", "engines measured together with mallinfo2"},
    {"timeout", "900", "ignored (run.sh passes it to every scenario)"},
  });
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  const auto n = static_cast<std::size_t>(std::max(1LL, opts.integer("connections")));
  auto dir = std::filesystem::temp_directory_path() / ("solod-tls-memory-" + std::to_string(::getpid()));
  solod::config cfg;
  auto server_ctx = solod::make_tls_context(cfg, dir.string());
  std::filesystem::remove_all(dir);
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, nullptr);

  auto engine = [&] {
    auto e = std::make_unique<solod::tls_engine>(server_ctx->native_handle());
    e->set_socket(solod::tls_engine::in_memory);
    return e;
  };
  auto warm = engine();
  bool ok = connect_idle(*warm, client_ctx, false);

  // By site: one engine, hooks on around its SSL_new and its steps.
  tracking = hooked;
  auto one = engine();
  tracking = false;
  ok = connect_idle(*one, client_ctx, hooked) && ok;
  std::map<std::string, std::pair<std::size_t, int>> by_site;
  std::size_t openssl_bytes = 0;
  for (const auto& [p, b] : *live_blocks) {
    auto& site = by_site[std::string(b.file) + ":" + std::to_string(b.line)];
    site.first += b.size;
    site.second++;
    openssl_bytes += b.size;
  }

  // Per connection, all in: N engines, mallinfo2 before and after.
  const std::size_t before = mallinfo2().uordblks;
  std::vector<std::unique_ptr<solod::tls_engine>> many;
  for (std::size_t i = 0; i < n; ++i) {
    many.push_back(engine());
    ok = connect_idle(*many.back(), client_ctx, false) && ok;
  }
  const double per_connection = static_cast<double>(mallinfo2().uordblks - before) / n;

  std::vector<std::pair<std::string, std::pair<std::size_t, int>>> sites(by_site.begin(), by_site.end());
  std::sort(sites.begin(), sites.end(), [](auto& a, auto& b) { return a.second.first > b.second.first; });
  std::vector<report_row> rows;
  nlohmann::json site_json = nlohmann::json::array();
  for (const auto& [where, v] : sites) {
    rows.push_back({where, std::to_string(v.first) + " B in " + std::to_string(v.second)});
    site_json.push_back({{"site", where}, {"bytes", v.first}, {"blocks", v.second}});
  }
  rows.push_back({"OpenSSL, one idle connection", std::to_string(openssl_bytes) + " B"});
  rows.push_back({"all in (mallinfo2, " + std::to_string(n) + " engines)", fmt(per_connection) + " B/conn"});
  nlohmann::json result = {
    {"scenario", "tls-memory"}, {"label", "solod"}, {"proto", "solod"}, {"tls", true},
    {"version", SSL_get_version(one->native_handle())}, {"cipher", SSL_get_cipher_name(one->native_handle())},
    {"openssl_bytes_per_connection", openssl_bytes}, {"bytes_per_connection", per_connection},
    {"sites", site_json}, {"hooked", hooked}, {"ok", ok && hooked},
  };
  print_report("tls-memory: one idle TLS connection's OpenSSL state (" +
                 std::string(SSL_get_version(one->native_handle())) + ")",
               rows, result);
  SSL_CTX_free(client_ctx);
  return result["ok"].get<bool>() ? 0 : 1;
}

} // namespace bench
