#include "storage/audit_signing_key.hpp"

#include "config/config.hpp"
#include "util/hex.hpp"
#include "util/random.hpp"
#include "util/secret_file.hpp"

#include <sodium.h>

namespace solod {

audit_signing_key audit_signing_key::load_or_create(const std::string& path) {
  if (!create_secret_file(path, random_hex(crypto_sign_SEEDBYTES))) {
    throw config_error("audit signing key: cannot create '" + path + "'");
  }
  return load(path);
}

audit_signing_key audit_signing_key::load(const std::string& path) {
  const auto text = read_secret_file(path);
  if (!text) {
    throw config_error("audit signing key: cannot read '" + path + "'");
  }
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  if (!bytes_from_hex(*text, seed)) {
    throw config_error("audit signing key: '" + path + "' is not 64 hex digits");
  }
  if (sodium_init() < 0) {
    throw config_error("audit signing key: libsodium initialisation failed");
  }
  audit_signing_key key;
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  crypto_sign_seed_keypair(pk.data(), key.secret_.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  key.public_hex_ = hex_of(pk);
  return key;
}

std::string audit_signing_key::sign(std::string_view message) const {
  std::array<std::uint8_t, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_.data());
  return hex_of(sig);
}

std::string signing_key_path(const std::string& signing_key_file, const std::string& data_dir) {
  return signing_key_file.empty() ? data_dir + "/audit_signing.key" : signing_key_file;
}

bool signature_valid(std::string_view public_key, std::string_view message, std::string_view signature) {
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<std::uint8_t, crypto_sign_BYTES> sig{};
  if (!bytes_from_hex(public_key, pk) || !bytes_from_hex(signature, sig)) {
    return false;
  }
  return crypto_sign_verify_detached(sig.data(), reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), pk.data()) == 0;
}

bool is_public_key(std::string_view text) {
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  return bytes_from_hex(text, pk);
}

} // namespace solod
