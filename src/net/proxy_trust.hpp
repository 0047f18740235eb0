#pragma once
/// @brief Which peers' X-Forwarded-For to believe, and the client address that follows.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// An IPv4 or IPv6 network in CIDR form.
struct ip_network {
  std::array<std::uint8_t, 16> bytes{}; ///< IPv4 is stored IPv4-mapped
  int prefix = 128;

  /// Parses "10.0.0.0/8", "::1/128" or a single address; nothing if malformed.
  static std::optional<ip_network> parse(std::string_view text);
  /// True when `address` (textual) lies in this network.
  bool contains(std::string_view address) const;
};

/// Decides the client address of a request (SPEC `trusted_proxies`).
class proxy_trust {
public:
  explicit proxy_trust(const std::vector<std::string>& cidrs);

  /// The peer address itself unless the peer is trusted; then the rightmost
  /// X-Forwarded-For entry that is not a trusted proxy (a client can prepend
  /// anything, only what trusted proxies appended is believed).
  std::string client_ip(const std::string& peer, std::string_view forwarded_for) const;

private:
  bool is_trusted(std::string_view address) const;
  std::vector<ip_network> networks_;
};

} // namespace solod
