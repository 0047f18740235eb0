/// @brief Fuzz target: raw bytes as one HTTP request, through Beast's parser and the
/// real api_router/admin_router over a temporary SQLite database.
///
/// `@ADMIN@` and `@USER@` in the input become live tokens, so the fuzzer reaches
/// the authenticated and admin routes from the seeds. The request is built from
/// the parsed message by the server's own net/beast_request.

#include "net/beast_request.hpp"
#include "net/proxy_trust.hpp"
#include "support/fuzz_world.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace http = boost::beast::http;

namespace {

/// Parses `bytes` as a request the way the session's parser is configured; nothing when incomplete or malformed.
std::optional<http::request<http::string_body>> parse(const std::string& bytes,
                                                      std::uint64_t body_limit) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(body_limit);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(bytes), ec);
  if (ec || !parser.is_done()) {
    return std::nullopt;
  }
  return parser.release();
}

/// The request as the session builds it (net/beast_request), from the trusted peer 127.0.0.1.
solod::http_request to_request(const http::request<http::string_body>& msg,
                               const solod::proxy_trust& proxies) {
  solod::http_request req = solod::request_of(msg);
  req.body = msg.body();
  req.client_ip = proxies.client_ip("127.0.0.1", req.header_list("X-Forwarded-For"));
  return req;
}

void check_response(const fuzz::routed_response& r) {
  const auto& h = r.head;
  if (h.status < 100 || h.status > 599) {
    std::fprintf(stderr, "status %u out of range\n", h.status);
    std::abort();
  }
  if (h.status >= 500 && h.status != 503) {
    std::fprintf(stderr, "server error %u: %s\n", h.status, h.body.c_str());
    std::abort();
  }
  // Every JSON answer is JSON (SPEC §3): an error body too.
  if (!h.stream && h.content_type.rfind("application/json", 0) == 0 && !h.body.empty() &&
      nlohmann::json::parse(h.body, nullptr, false).is_discarded()) {
    std::fprintf(stderr, "a JSON response is not JSON: %s\n", h.body.c_str());
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& world = fuzz::fuzz_world::instance();
  static const solod::proxy_trust proxies(world.cfg.server.trusted_proxies);
  world.refresh_sessions();
  auto bytes = world.with_tokens(std::string(reinterpret_cast<const char*>(data), size));
  auto msg = parse(bytes, world.cfg.server.max_body_bytes);
  if (!msg) {
    return 0;
  }
  if (msg->target().substr(0, 3) == "/ws") {
    return 0; // WebSocket upgrades are the ws_dispatch target's
  }
  auto req = to_request(*msg, proxies);
  const std::string shown = req.method + " " + req.target;
  auto out = world.route(std::move(req));
  if (std::getenv("SOLOD_FUZZ_VERBOSE") != nullptr) { // replaying seeds: what did they reach?
    std::fprintf(stderr, "%s -> %u %.160s\n", shown.c_str(), out.head.status,
                 out.head.stream ? out.streamed.c_str() : out.head.body.c_str());
  }
  check_response(out);
  return 0;
}
