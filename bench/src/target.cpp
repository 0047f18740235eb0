#include "target.hpp"

#include "options.hpp"

#include <boost/asio/ip/address.hpp>

namespace bench {

target parse_target(const std::string& url, const std::string& proto_name) {
  target t;
  t.proto = &protocol_named(proto_name);
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    t.tls = true;
  } else {
    throw usage_error("--url must be http://127.0.0.1:PORT or https://127.0.0.1:PORT, not '" + url + "'");
  }
  while (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  auto colon = rest.rfind(':');
  std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  if (host != "127.0.0.1") {
    throw usage_error("the bench only targets 127.0.0.1, not '" + host + "'");
  }
  long port = colon == std::string::npos ? -1 : std::strtol(rest.c_str() + colon + 1, nullptr, 10);
  if (port <= 0 || port > 65535) {
    throw usage_error("--url needs a port: '" + url + "'");
  }
  t.endpoint = {boost::asio::ip::make_address_v4("127.0.0.1"), static_cast<unsigned short>(port)};
  t.host_header = "127.0.0.1:" + std::to_string(port);
  if (t.tls) {
    t.tls_context = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    t.tls_context->set_verify_mode(boost::asio::ssl::verify_none);
  }
  return t;
}

std::vector<target> parse_targets(const std::string& list, const std::string& proto_name,
                                  const target& fallback) {
  std::vector<target> out;
  std::size_t start = 0;
  while (!list.empty()) {
    const auto comma = list.find(',', start);
    const auto item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) {
      out.push_back(parse_target(item, proto_name));
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  if (out.empty()) {
    out.push_back(fallback);
  }
  return out;
}

} // namespace bench
