#include "auth/webhook_signature.hpp"

#include <sodium.h>

#include <stdexcept>
#include <string>

namespace solod {

std::optional<std::string> decode_webhook_secret(std::string_view secret) {
  constexpr std::string_view prefix = "whsec_";
  if (!secret.starts_with(prefix)) {
    return std::nullopt;
  }
  secret.remove_prefix(prefix.size());
  std::string key(secret.size(), '\0');
  std::size_t len = 0;
  if (sodium_init() < 0 ||
      sodium_base642bin(reinterpret_cast<unsigned char*>(key.data()), key.size(), secret.data(), secret.size(),
                        nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  key.resize(len);
  if (key.size() < 24 || key.size() > 64) {
    return std::nullopt;
  }
  return key;
}

std::string sign_webhook(std::string_view key, std::string_view msg_id, long long timestamp,
                         std::string_view body) {
  const std::string stamp = std::to_string(timestamp);
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  auto feed = [&](std::string_view part) {
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(part.data()), part.size());
  };
  feed(msg_id);
  feed(".");
  feed(stamp);
  feed(".");
  feed(body);
  crypto_auth_hmacsha256_final(&st, mac);
  char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
  return std::string("v1,") + b64;
}

} // namespace solod
