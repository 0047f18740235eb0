#include "auth/secret_fingerprint.hpp"

#include "config/config.hpp"
#include "storage/cluster_settings_repository.hpp"
#include "storage/database.hpp"

#include <sodium.h>
#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <array>
#include <stdexcept>

namespace solod {

namespace {

constexpr std::string_view fingerprint_label = "solod jwt secret fingerprint v1";
const char* const fingerprint_setting = "jwt_secret_fingerprint";

} // namespace

std::string jwt_secret_fingerprint(std::string_view secret) {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
  // The streaming API takes a key of any length (HMAC hashes long keys first);
  // the one-shot crypto_auth_hmacsha256 wants exactly 32 bytes.
  crypto_auth_hmacsha256_state state;
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(fingerprint_label.data()),
                                fingerprint_label.size());
  crypto_auth_hmacsha256_final(&state, mac.data());
  sodium_memzero(&state, sizeof state); // it holds the key, padded
  std::array<char, crypto_auth_hmacsha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), mac.data(), mac.size());
  return std::string(hex.data());
}

void check_jwt_secret_fingerprint(soci::session& sql, std::string_view secret) {
  const std::string mine = jwt_secret_fingerprint(secret);
  const std::string stored = cluster_settings_repository(sql).put_if_absent(fingerprint_setting, mine);
  if (stored != mine) {
    throw config_error(
      "auth: this node's JWT secret differs from the one the other nodes of this database use "
      "(fingerprint mismatch); give every node the same auth.jwt_secret_file or SOLOD_JWT_SECRET "
      "(to change the secret on purpose, stop every node and delete the cluster_settings row "
      "'jwt_secret_fingerprint')");
  }
  spdlog::info("auth: the JWT secret matches this database's fingerprint");
}

void check_jwt_secret_fingerprint(const database_url& url, std::string_view secret) {
  auto sql = open_database(url);
  check_jwt_secret_fingerprint(*sql, secret);
}

} // namespace solod
