#pragma once
/// @brief Password hashes made by other systems (werkzeug, Django, bcrypt,
/// Argon2, the classic salt + hash pair): recognised, bounded and verified.
///
/// Every primitive comes from a library: OpenSSL's PKCS5_PBKDF2_HMAC and
/// EVP_PBE_scrypt, libcrypt's crypt_r for bcrypt, libsodium for Argon2.
/// Every comparison of digests is constant-time. A cost beyond the bounds
/// below is refused, at import and at login alike, before any hashing: a
/// stored string must never buy an attacker (or a typo) a minute of CPU or a
/// gigabyte of memory per login.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace solod {

/// The families of stored hash solod recognises.
enum class hash_family {
  unknown,
  argon2id,             ///< `$argon2id$v=19$m=,t=,p=$salt$hash` (solod's own, or imported)
  argon2i,              ///< `$argon2i$v=19$...`
  werkzeug_pbkdf2,      ///< `pbkdf2:sha256:N$salt$hex` (sha256, sha512, sha1)
  werkzeug_scrypt,      ///< `scrypt:N:r:p$salt$hex`
  django_pbkdf2,        ///< `pbkdf2_sha256$N$salt$base64` (also pbkdf2_sha1)
  django_argon2,        ///< `argon2$argon2id$...` (also argon2i)
  django_bcrypt,        ///< `bcrypt$$2b$12$...`
  django_bcrypt_sha256, ///< `bcrypt_sha256$$2b$12$...` (bcrypt of the hex SHA-256 of the password)
  bcrypt,               ///< `$2a$`, `$2b$`, `$2y$`
  classic_pbkdf2,       ///< `solod-pbkdf2-sha256$N$SALTHEX$HASHHEX`, written by the import
};

/// The cost bounds every hash is held to (import and login).
struct hash_bounds {
  /// PBKDF2 iterations: Django 5.2 uses 1,000,000, werkzeug 3.0 600,000.
  static constexpr std::uint64_t max_pbkdf2_iterations = 3'000'000;
  /// bcrypt cost (2^cost rounds): Django uses 12, GoTrue 10.
  static constexpr unsigned max_bcrypt_cost = 14;
  /// scrypt: memory 128·N·r bytes, work N·r·p (werkzeug: N=32768, r=8, p=1).
  static constexpr std::uint64_t max_scrypt_memory = std::uint64_t{256} << 20;
  static constexpr std::uint64_t max_scrypt_work = std::uint64_t{1} << 21;
  /// Argon2: memory in KiB, passes, lanes (Django: m=102400, t=2, p=8).
  static constexpr std::uint64_t max_argon2_memory_kib = 262'144;
  static constexpr std::uint64_t max_argon2_passes = 16;
  static constexpr std::uint64_t max_argon2_lanes = 16;
};

/// What inspect_hash found.
struct hash_inspection {
  hash_family family = hash_family::unknown;
  /// Empty when the string is well-formed and within the bounds; else why
  /// not. Never quotes the hash itself (it may be printed or logged).
  std::string error;

  bool ok() const { return error.empty(); }
};

/// Recognises `stored` and checks its form and cost bounds; hashes nothing.
hash_inspection inspect_hash(std::string_view stored);

/// The outcome of verify_stored_hash.
enum class hash_verdict { match, mismatch, refused };

/// Verifies `password` against `stored` of any family above. Blocking (up to
/// about a second of CPU at the bounds): call it only on the hashing pool or
/// from the command line. `refused`: malformed, unknown or beyond the bounds.
hash_verdict verify_stored_hash(std::string_view stored, std::string_view password);

/// True for every stored hash that is not solod's own Argon2id: the account
/// still needs a login to have it replaced.
bool is_legacy_hash(std::string_view stored);

/// The classic `salt` + `hash` pair (PBKDF2-HMAC-SHA256 of `iterations`,
/// `salt` as raw bytes, `hash_hex` its hex digest) in solod's
/// self-describing form; nothing when `hash_hex` is not 16-64 bytes of hex
/// or the iterations are out of bounds.
std::optional<std::string> classic_pbkdf2_hash(std::string_view salt, std::string_view hash_hex,
                                               std::uint64_t iterations);

/// A short name of `family` (for listings and messages).
const char* hash_family_name(hash_family family);

} // namespace solod
