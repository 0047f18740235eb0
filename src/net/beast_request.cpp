#include "net/beast_request.hpp"

#include "util/utf8.hpp"

namespace solod {

namespace {

std::string_view std_view(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

} // namespace

http_request request_of(const boost::beast::http::request<boost::beast::http::string_body>& msg) {
  http_request req;
  req.method = sanitize_utf8(std_view(msg.method_string()));
  req.target = sanitize_utf8(std_view(msg.target()));
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  for (const auto& field : msg) {
    req.headers.emplace_back(sanitize_utf8(std_view(field.name_string())),
                             safe_header_value(std_view(field.name_string()), std_view(field.value())));
  }
  return req;
}

} // namespace solod
