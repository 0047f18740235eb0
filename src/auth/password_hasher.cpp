#include "auth/password_hasher.hpp"

#include "auth/legacy_hash.hpp"
#include "util/random.hpp"

#include <sodium.h>

#include <stdexcept>

namespace solod {

namespace {

/// The only hash family solod stores; anything else (argon2i, bcrypt, ...) fails verification.
constexpr std::string_view argon2id_prefix = "$argon2id$";

} // namespace

password_hasher::password_hasher(argon2_params params) : params_(params) {
  // Thread-safe and idempotent; libsodium wants it before first use.
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium initialisation failed");
  }
  if (params_.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      params_.mem_limit < crypto_pwhash_argon2id_MEMLIMIT_MIN) {
    throw std::invalid_argument("Argon2id parameters below libsodium's minimum");
  }
  // A real hash at the real parameters, so verify_dummy costs what a real verify costs.
  dummy_hash_ = hash(random_hex(16));
}

std::string password_hasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params_.ops_limit, params_.mem_limit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("out of memory while hashing a password");
  }
  return out;
}

bool password_hasher::verify(std::string_view stored, std::string_view password) const {
  if (stored.substr(0, argon2id_prefix.size()) != argon2id_prefix || stored.size() >= crypto_pwhash_STRBYTES) {
    return false;
  }
  // libsodium wants a NUL-terminated string.
  const std::string phc{stored};
  return crypto_pwhash_argon2id_str_verify(phc.c_str(), password.data(), password.size()) == 0;
}

std::optional<std::string> password_hasher::upgrade(std::string_view password) const {
  try {
    return hash(password);
  } catch (const std::exception&) {
    // Out of memory: the login still succeeds, the old hash stays for the next one.
    return std::nullopt;
  }
}

password_check password_hasher::check(std::string_view stored, std::string_view password) const {
  password_check out;
  const bool own = !is_legacy_hash(stored);
  auto inspection = inspect_hash(stored);
  if (!inspection.ok()) {
    out.refused = inspection.error;
    verify_dummy(password);
    return out;
  }
  out.match = verify_stored_hash(stored, password) == hash_verdict::match;
  if (own) {
    if (out.match) {
      // An imported Argon2id at other parameters is brought to ours.
      const std::string phc{stored};
      if (crypto_pwhash_argon2id_str_needs_rehash(phc.c_str(), params_.ops_limit, params_.mem_limit) != 0) {
        out.upgraded = upgrade(password);
      }
    }
    return out;
  }
  if (out.match) {
    out.upgraded = upgrade(password);
  } else {
    verify_dummy(password);
  }
  return out;
}

void password_hasher::verify_dummy(std::string_view password) const {
  (void)verify(dummy_hash_, password);
}

} // namespace solod
