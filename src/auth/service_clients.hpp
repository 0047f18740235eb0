#pragma once
/// @brief The team's other backends that may ask solod about sessions: HTTP Basic clients.

#include "config/config.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// The service clients of `[services]` and their secrets, checked in constant time.
class service_clients {
public:
  /// The shortest secret a client may have, in bytes.
  static constexpr std::size_t min_secret_bytes = 16;

  /// Reads each client's `secret_file` (trailing newlines dropped). Throws
  /// config_error naming the file when it cannot be read or is too short,
  /// and for two clients with one id.
  static service_clients load(const services_config& cfg);

  /// Clients given as (id, secret) pairs.
  explicit service_clients(const std::vector<std::pair<std::string, std::string>>& id_secrets);

  /// The client id that `authorization` (an `Authorization` header value,
  /// `Basic base64(id:secret)`) proves, or nothing. Per RFC 6749 §2.3.1 the
  /// id and secret may be form-encoded inside; the raw secret is accepted too.
  std::optional<std::string> authenticate(std::string_view authorization) const;

  /// No clients: every call is refused.
  bool empty() const { return clients_.empty(); }

private:
  using digest = std::array<unsigned char, 32>;
  struct client {
    std::string id;
    digest secret; ///< SHA-256 of the secret: compared without leaking its length
  };

  static digest hash(std::string_view secret);
  bool matches(const client& c, std::string_view secret) const;

  std::vector<client> clients_;
};

} // namespace solod
