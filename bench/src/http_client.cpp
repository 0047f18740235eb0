#include "http_client.hpp"

#include "clock.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <type_traits>

namespace bench {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

template <class Stream>
class http_client_impl final : public http_client,
                               public std::enable_shared_from_this<http_client_impl<Stream>> {
public:
  static constexpr bool secure = !std::is_same_v<Stream, beast::tcp_stream>;

  http_client_impl(net::io_context& ioc, const target& t) : ioc_(ioc), target_(t) {}

  void post_json(std::string path, std::string body, std::function<void(http_result)> done) override {
    req_ = {};
    req_.method(http::verb::post);
    req_.target(path);
    req_.version(11);
    req_.set(http::field::host, target_.host_header);
    req_.set(http::field::user_agent, target_.user_agent);
    req_.set(http::field::content_type, "application/json");
    req_.keep_alive(true);
    req_.body() = std::move(body);
    req_.prepare_payload();
    done_ = std::move(done);
    result_ = {};
    result_.sent_ns = now_ns();
    retried_ = false;
    if (stream_) {
      do_write();
    } else {
      do_connect();
    }
  }

private:
  Stream& make_stream() {
    if constexpr (secure) {
      stream_.emplace(ioc_, *target_.tls_context);
    } else {
      stream_.emplace(ioc_);
    }
    return *stream_;
  }

  void do_connect() {
    auto& s = make_stream();
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(s).async_connect(
      target_.endpoint, beast::bind_front_handler(&http_client_impl::on_connect, this->shared_from_this()));
  }

  void on_connect(beast::error_code ec) {
    if (ec) {
      return finish_error(ec);
    }
    beast::error_code ignored;
    beast::get_lowest_layer(*stream_).socket().set_option(net::ip::tcp::no_delay(true), ignored);
    if constexpr (secure) {
      stream_->async_handshake(net::ssl::stream_base::client,
                               beast::bind_front_handler(&http_client_impl::on_handshake,
                                                         this->shared_from_this()));
    } else {
      do_write();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      return finish_error(ec);
    }
    do_write();
  }

  void do_write() {
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(30));
    http::async_write(*stream_, req_,
                      beast::bind_front_handler(&http_client_impl::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) {
      return retry_or_fail(ec);
    }
    res_.emplace();
    res_->body_limit(1 << 20);
    http::async_read(*stream_, buffer_, *res_,
                     beast::bind_front_handler(&http_client_impl::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      return retry_or_fail(ec);
    }
    auto res = res_->release();
    result_.status = res.result_int();
    result_.body = std::move(res.body());
    result_.done_ns = now_ns();
    if (!res.keep_alive()) {
      drop();
    } else {
      beast::get_lowest_layer(*stream_).expires_never();
    }
    auto d = std::move(done_);
    d(std::move(result_));
  }

  /// A kept-alive connection the server had closed fails at once: reconnect once and resend.
  void retry_or_fail(beast::error_code ec) {
    drop();
    if (!retried_ && ec != beast::error::timeout) {
      retried_ = true;
      do_connect();
      return;
    }
    finish_error(ec);
  }

  void finish_error(beast::error_code ec) {
    drop();
    result_.error = ec.message();
    result_.done_ns = now_ns();
    auto d = std::move(done_);
    d(std::move(result_));
  }

  void drop() {
    if (stream_) {
      beast::error_code ignored;
      beast::get_lowest_layer(*stream_).socket().close(ignored);
      stream_.reset();
    }
    buffer_.clear();
  }

  net::io_context& ioc_;
  const target& target_;
  std::optional<Stream> stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> res_;
  std::function<void(http_result)> done_;
  http_result result_;
  bool retried_ = false;
};

} // namespace

std::shared_ptr<http_client> make_http_client(net::io_context& ioc, const target& t) {
  if (t.tls) {
    return std::make_shared<http_client_impl<beast::ssl_stream<beast::tcp_stream>>>(ioc, t);
  }
  return std::make_shared<http_client_impl<beast::tcp_stream>>(ioc, t);
}

void login(http_client& client, const std::string& username, const std::string& password,
           std::function<void(login_result)> done) {
  auto body = nlohmann::json{{"username", username}, {"password", password}}.dump();
  client.post_json("/api/login", std::move(body), [done = std::move(done)](http_result r) {
    login_result out;
    out.status = r.status;
    out.sent_ns = r.sent_ns;
    out.done_ns = r.done_ns;
    if (r.status == 200) {
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (j.is_object() && j.contains("token") && j["token"].is_string()) {
        out.token = j["token"].get<std::string>();
      } else {
        out.error = "200 without a token";
      }
    } else if (r.status != 0) {
      out.error = "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200);
    } else {
      out.error = r.error;
    }
    done(std::move(out));
  });
}

} // namespace bench
