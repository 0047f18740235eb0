#include "net/proxy_trust.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace solod {

namespace {

/// The 16-byte form of an IPv4 or IPv6 address.
std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    return std::nullopt; // inet_pton would stop at the NUL and accept "1.2.3.4\0junk"
  }
  std::string s(text);
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

} // namespace

std::optional<ip_network> ip_network::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = parse_address(text.substr(0, slash));
  if (!addr) {
    return std::nullopt;
  }
  bool is_v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  int prefix = is_v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc{} || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > (is_v4 ? 32 : 128)) {
      return std::nullopt;
    }
  }
  ip_network net;
  net.bytes = *addr;
  net.prefix = is_v4 ? prefix + 96 : prefix;
  return net;
}

bool ip_network::contains(std::string_view address) const {
  auto addr = parse_address(address);
  if (!addr) {
    return false;
  }
  int bits = prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((bytes[i] & mask) != ((*addr)[i] & mask)) {
      return false;
    }
  }
  return true;
}

proxy_trust::proxy_trust(const std::vector<std::string>& cidrs) {
  for (const auto& c : cidrs) {
    if (auto net = ip_network::parse(c)) {
      networks_.push_back(*net);
    }
  }
}

bool proxy_trust::is_trusted(std::string_view address) const {
  for (const auto& net : networks_) {
    if (net.contains(address)) {
      return true;
    }
  }
  return false;
}

std::string proxy_trust::client_ip(const std::string& peer, std::string_view forwarded_for) const {
  if (forwarded_for.empty() || !is_trusted(peer)) {
    return peer;
  }
  std::string candidate = peer;
  while (!forwarded_for.empty()) {
    auto comma = forwarded_for.rfind(',');
    auto entry = trim(comma == std::string_view::npos ? forwarded_for
                                                      : forwarded_for.substr(comma + 1));
    if (!parse_address(entry)) {
      break; // garbage: believe nothing further left
    }
    candidate = std::string(entry);
    if (!is_trusted(entry)) {
      break;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    forwarded_for = forwarded_for.substr(0, comma);
  }
  return candidate;
}

} // namespace solod
