/// @brief Fuzz target: CIDR parsing and the client address behind X-Forwarded-For.
///
/// Input: lines — trusted CIDRs (separated by ','), the peer address, then the
/// X-Forwarded-For value. Properties: a network contains its own address; an
/// untrusted peer is its own client; a believed client is an address taken
/// from the header, nothing else.

#include "net/proxy_trust.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "proxy_trust: %s\n", why.c_str());
  std::abort();
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    auto at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return parts;
    }
    text.remove_prefix(at + 1);
  }
}

bool address_chars(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '.' || c == ':';
    if (!ok) {
      return false;
    }
  }
  return !s.empty();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto lines = split(text, '\n');
  std::vector<std::string> cidrs;
  for (auto c : split(lines[0], ',')) {
    cidrs.emplace_back(c);
    if (auto net = solod::ip_network::parse(c)) {
      if (net->prefix < 0 || net->prefix > 128) {
        fail("prefix out of range for " + std::string(c));
      }
      if (!net->contains(c.substr(0, c.find('/')))) {
        fail("a network does not contain its own address: " + std::string(c));
      }
    }
  }
  const std::string peer(lines.size() > 1 ? lines[1] : "127.0.0.1");
  const std::string_view forwarded = lines.size() > 2 ? lines[2] : "";

  solod::proxy_trust trust(cidrs);
  auto client = trust.client_ip(peer, forwarded);
  if (client == peer) {
    return 0;
  }
  bool peer_trusted = false;
  for (const auto& c : cidrs) {
    auto net = solod::ip_network::parse(c);
    peer_trusted = peer_trusted || (net && net->contains(peer));
  }
  if (!peer_trusted) {
    fail("an untrusted peer's header was believed");
  }
  if (!address_chars(client)) {
    fail("the client address is not an address: [" + client + "]");
  }
  if (forwarded.find(client) == std::string_view::npos) {
    fail("the client address is not from the header: " + client);
  }
  return 0;
}
