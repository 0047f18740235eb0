#include "net/webhook_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <cctype>

namespace solod {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<webhook_target> parse_webhook_url(std::string_view url) {
  webhook_target t;
  if (url.starts_with("https://")) {
    t.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const auto path = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, path);
  t.target = path == std::string_view::npos ? "/" : std::string(url.substr(path));
  if (const auto hash = t.target.find('#'); hash != std::string::npos) {
    t.target.erase(hash);
  }
  if (t.target.empty() || t.target.front() != '/') {
    t.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return std::nullopt; // credentials in a URL would be logged with it
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    t.host = std::string(authority.substr(1, close - 1));
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port = rest.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
  }
  if (t.host.empty() || std::any_of(t.host.begin(), t.host.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '\\';
      })) {
    return std::nullopt;
  }
  if (port.empty()) {
    t.port = t.tls ? "443" : "80";
  } else {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
      return std::nullopt;
    }
    t.port = std::string(port);
  }
  return t;
}

struct webhook_client::impl {
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_client};

  impl() {
    tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
  }
};

namespace {

/// One exchange on `stream`, its steps chained; `result` is final once `done`.
template <class Stream>
struct exchange {
  Stream& stream;
  tcp::resolver& resolver;
  const webhook_target& to;
  http::request<http::string_body>& req;
  webhook_response& result;
  bool& done;
  beast::flat_buffer buffer{};
  http::response_parser<http::empty_body> parser{};

  void fail(beast::error_code ec, const char* step) {
    result.error = std::string(step) + ": " + ec.message();
    done = true;
  }

  void start(std::function<void(std::function<void()>)> handshake) {
    resolver.async_resolve(to.host, to.port, [this, handshake](beast::error_code ec, tcp::resolver::results_type r) {
      if (ec) {
        return fail(ec, "resolve");
      }
      beast::get_lowest_layer(stream).async_connect(r, [this, handshake](beast::error_code ec, const tcp::endpoint&) {
        if (ec) {
          return fail(ec, "connect");
        }
        handshake([this] { send(); });
      });
    });
  }

  void send() {
    http::async_write(stream, req, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        return fail(ec, "write");
      }
      // Only the status line and headers matter: the body is never read.
      http::async_read_header(stream, buffer, parser, [this](beast::error_code ec, std::size_t) {
        if (ec) {
          return fail(ec, "read");
        }
        result.status = parser.get().result_int();
        done = true;
      });
    });
  }
};

} // namespace

webhook_client::webhook_client() : impl_(std::make_unique<impl>()) {}

webhook_client::~webhook_client() = default;

webhook_response webhook_client::post(const webhook_target& to,
                                      const std::vector<std::pair<std::string, std::string>>& headers,
                                      const std::string& body, std::chrono::milliseconds timeout,
                                      const std::atomic<bool>& abort) {
  auto& io = impl_->io;
  io.restart();
  http::request<http::string_body> req{http::verb::post, to.target, 11};
  const bool default_port = to.port == (to.tls ? "443" : "80");
  const bool v6 = to.host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + to.host + "]" : to.host;
  req.set(http::field::host, default_port ? host : host + ":" + to.port);
  req.set(http::field::user_agent, "solod-webhooks/1");
  req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) {
    req.set(name, value);
  }
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();

  webhook_response result;
  bool done = false;
  tcp::resolver resolver(io);
  auto run = [&](auto& stream, auto handshake) {
    exchange<std::remove_reference_t<decltype(stream)>> x{stream, resolver, to, req, result, done};
    x.start(handshake);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && !abort.load() && !io.stopped()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        break;
      }
      io.run_for(std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds{100}));
    }
    if (!done) {
      io.restart();
      resolver.cancel();
      beast::get_lowest_layer(stream).close();
      io.run();
      result = {0, abort.load() ? std::string("stopped") : "no answer within " + std::to_string(timeout.count()) + " ms"};
    }
  };
  if (!to.tls) {
    beast::tcp_stream stream(io);
    run(stream, [](std::function<void()> next) { next(); });
  } else {
    beast::ssl_stream<beast::tcp_stream> stream(io, impl_->tls);
    const bool is_ip = [&] {
      beast::error_code ec;
      asio::ip::make_address(to.host, ec);
      return !ec;
    }();
    if (!is_ip) {
      SSL_set_tlsext_host_name(stream.native_handle(), to.host.c_str());
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(to.host));
    run(stream, [&stream, &result, &done](std::function<void()> next) {
      stream.async_handshake(asio::ssl::stream_base::client, [&result, &done, next](beast::error_code ec) {
        if (ec) {
          result.error = "TLS handshake: " + ec.message();
          done = true;
          return;
        }
        next();
      });
    });
  }
  return result;
}

} // namespace solod
