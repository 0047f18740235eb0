#include "auth/service_clients.hpp"

#include "util/query_string.hpp"
#include "util/secret_file.hpp"

#include <sodium.h>
#include <strings.h>

#include <set>

namespace solod {

namespace {

std::string read_secret(const std::string& path, const std::string& id) {
  auto secret = read_secret_file(path);
  if (!secret) {
    throw config_error("services.clients '" + id + "': cannot read secret_file '" + path + "'");
  }
  return *secret;
}

/// Standard base64 with padding, as HTTP Basic uses; nothing when malformed.
std::optional<std::string> base64_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                        nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

} // namespace

service_clients service_clients::load(const services_config& cfg) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::set<std::string> ids;
  for (const auto& c : cfg.clients) {
    if (!ids.insert(c.id).second) {
      throw config_error("services.clients: the id '" + c.id + "' is given twice");
    }
    auto secret = read_secret(c.secret_file, c.id);
    if (secret.size() < min_secret_bytes) {
      throw config_error("services.clients '" + c.id + "': the secret in '" + c.secret_file + "' is " +
                         std::to_string(secret.size()) + " bytes; at least " +
                         std::to_string(min_secret_bytes) + " are required");
    }
    pairs.emplace_back(c.id, std::move(secret));
  }
  return service_clients(pairs);
}

service_clients::service_clients(const std::vector<std::pair<std::string, std::string>>& id_secrets) {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium cannot start");
  }
  for (const auto& [id, secret] : id_secrets) {
    clients_.push_back({id, hash(secret)});
  }
}

service_clients::digest service_clients::hash(std::string_view secret) {
  digest d{};
  crypto_hash_sha256(d.data(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  return d;
}

bool service_clients::matches(const client& c, std::string_view secret) const {
  const auto d = hash(secret);
  return sodium_memcmp(d.data(), c.secret.data(), d.size()) == 0;
}

std::optional<std::string> service_clients::authenticate(std::string_view authorization) const {
  constexpr std::string_view scheme = "Basic ";
  if (authorization.size() <= scheme.size() || strncasecmp(authorization.data(), scheme.data(), scheme.size()) != 0) {
    return std::nullopt;
  }
  auto encoded = authorization.substr(scheme.size());
  while (!encoded.empty() && encoded.front() == ' ') {
    encoded.remove_prefix(1);
  }
  const auto pair = base64_decode(encoded);
  if (!pair) {
    return std::nullopt;
  }
  const auto colon = pair->find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  const auto id = url_decode(std::string_view{*pair}.substr(0, colon));
  const std::string_view raw_secret = std::string_view{*pair}.substr(colon + 1);
  if (!id) {
    return std::nullopt;
  }
  for (const auto& c : clients_) {
    if (c.id != *id) {
      continue;
    }
    // Both forms are hashed and compared whatever the first gives, so the
    // time taken does not tell which of them was tried.
    const auto decoded = url_decode(raw_secret);
    const bool raw_ok = matches(c, raw_secret);
    const bool decoded_ok = decoded && matches(c, *decoded);
    if (raw_ok || decoded_ok) {
      return c.id;
    }
    return std::nullopt;
  }
  // An unknown id costs the same hashing as a known one.
  (void)hash(raw_secret);
  (void)hash(raw_secret);
  return std::nullopt;
}

} // namespace solod
