#include "protocol/engineio_packet.hpp"

namespace solod {

eio_parse_result parse_eio_packet(std::string_view text) {
  if (text.empty()) {
    return {std::nullopt, "empty Engine.IO packet"};
  }
  const char c = text.front();
  if (c == 'b') {
    return {std::nullopt, "binary packets are not supported"};
  }
  if (c < '0' || c > '6') {
    return {std::nullopt, "not an Engine.IO packet (no type digit 0-6)"};
  }
  return {eio_packet{static_cast<eio_type>(c - '0'), text.substr(1)}, ""};
}

std::vector<std::string_view> split_eio_payload(std::string_view body) {
  std::vector<std::string_view> out;
  if (body.empty()) {
    return out;
  }
  std::size_t start = 0;
  for (;;) {
    auto end = body.find(eio_separator, start);
    if (end == std::string_view::npos) {
      out.push_back(body.substr(start));
      return out;
    }
    out.push_back(body.substr(start, end - start));
    start = end + 1;
  }
}

std::string join_eio_payload(const std::vector<std::string_view>& packets) {
  std::string out;
  std::size_t size = 0;
  for (const auto& p : packets) {
    size += p.size() + 1;
  }
  out.reserve(size);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (i > 0) {
      out += eio_separator;
    }
    out += packets[i];
  }
  return out;
}

std::string encode_eio(eio_type type, std::string_view data) {
  std::string out;
  out.reserve(data.size() + 1);
  out += static_cast<char>('0' + static_cast<int>(type));
  out += data;
  return out;
}

} // namespace solod
