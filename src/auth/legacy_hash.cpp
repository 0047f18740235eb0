#include "auth/legacy_hash.hpp"

#include "util/hex.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <memory>
#include <vector>

namespace solod {

namespace {

/// A stored hash taken apart: what the verification needs, or why it cannot be done.
struct parsed_hash {
  hash_family family = hash_family::unknown;
  std::string error;
  // PBKDF2 and scrypt
  const EVP_MD* md = nullptr;
  std::uint64_t iterations = 0;
  std::uint64_t n = 0, r = 0, p = 0;
  std::string salt;   ///< raw bytes
  std::string digest; ///< raw bytes
  // bcrypt and Argon2: the string handed to the library as it is
  std::string setting;
  bool sha256_prehash = false; ///< Django's bcrypt_sha256
  bool argon2i = false;        ///< Argon2i rather than Argon2id
};

parsed_hash failed(hash_family family, std::string why) {
  parsed_hash out;
  out.family = family;
  out.error = std::move(why);
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(at + 1);
  }
}

/// Decimal digits only (no sign, no spaces), at most 12 of them.
std::optional<std::uint64_t> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 12) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::optional<std::string> hex_decode(std::string_view s) {
  if (s.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(s.size() / 2);
  for (std::size_t i = 0; i < s.size(); i += 2) {
    int hi = hex_value(s[i]);
    int lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string hex_encode(const unsigned char* data, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0f]);
  }
  return out;
}

/// Standard base64 with padding (Python's base64.b64encode).
std::optional<std::string> base64_decode(std::string_view s) {
  std::string out(s.size(), '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), s.data(),
                        s.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != s.data() + s.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

const EVP_MD* digest_named(std::string_view name) {
  if (name == "sha256") {
    return EVP_sha256();
  }
  if (name == "sha512") {
    return EVP_sha512();
  }
  if (name == "sha1") {
    return EVP_sha1();
  }
  return nullptr;
}

std::string iterations_error(std::uint64_t iterations) {
  return "PBKDF2 iteration count " + std::to_string(iterations) + " is outside 1-" +
         std::to_string(hash_bounds::max_pbkdf2_iterations);
}

/// Checks a PBKDF2 hash's parts and fills `out`; the digest has `dklen` bytes (0: the md's size).
parsed_hash pbkdf2_parts(hash_family family, const EVP_MD* md, std::string_view iterations,
                         std::string salt, std::optional<std::string> digest) {
  auto n = parse_count(iterations);
  if (!n) {
    return failed(family, "the PBKDF2 iteration count is not a number");
  }
  if (*n < 1 || *n > hash_bounds::max_pbkdf2_iterations) {
    return failed(family, iterations_error(*n));
  }
  if (salt.empty()) {
    return failed(family, "the salt is empty");
  }
  if (!digest || digest->size() < 16 || digest->size() > 64) {
    return failed(family, "the digest is not 16-64 bytes of the expected encoding");
  }
  parsed_hash out;
  out.family = family;
  out.md = md;
  out.iterations = *n;
  out.salt = std::move(salt);
  out.digest = std::move(*digest);
  return out;
}

/// `pbkdf2:sha256:N$salt$hex`
parsed_hash parse_werkzeug_pbkdf2(std::string_view stored) {
  const auto f = hash_family::werkzeug_pbkdf2;
  auto parts = split(stored, '$');
  if (parts.size() != 3) {
    return failed(f, "werkzeug hashes are METHOD$SALT$HEX");
  }
  auto method = split(parts[0], ':');
  if (method.size() != 3) {
    return failed(f, "werkzeug pbkdf2 without an iteration count (pbkdf2:HASH:N)");
  }
  const EVP_MD* md = digest_named(method[1]);
  if (md == nullptr) {
    return failed(f, "werkzeug pbkdf2 with an unsupported hash (sha256, sha512, sha1)");
  }
  auto out = pbkdf2_parts(f, md, method[2], std::string(parts[1]), hex_decode(parts[2]));
  if (out.error.empty() && out.digest.size() != static_cast<std::size_t>(EVP_MD_size(md))) {
    return failed(f, "the digest's length does not match the hash");
  }
  return out;
}

/// `scrypt:N:r:p$salt$hex`
parsed_hash parse_werkzeug_scrypt(std::string_view stored) {
  const auto f = hash_family::werkzeug_scrypt;
  auto parts = split(stored, '$');
  if (parts.size() != 3) {
    return failed(f, "werkzeug hashes are METHOD$SALT$HEX");
  }
  auto method = split(parts[0], ':');
  if (method.size() != 4) {
    return failed(f, "werkzeug scrypt needs scrypt:N:r:p");
  }
  auto n = parse_count(method[1]);
  auto r = parse_count(method[2]);
  auto p = parse_count(method[3]);
  if (!n || !r || !p) {
    return failed(f, "scrypt parameters are not numbers");
  }
  if (*n < 2 || (*n & (*n - 1)) != 0 || *r < 1 || *p < 1 || *r > 1024 || *p > 1024 ||
      *n > (std::uint64_t{1} << 30)) {
    return failed(f, "scrypt N must be a power of two above 1, r and p at least 1");
  }
  if (128 * *n * *r > hash_bounds::max_scrypt_memory || *n * *r * *p > hash_bounds::max_scrypt_work) {
    return failed(f, "scrypt cost N=" + std::to_string(*n) + " r=" + std::to_string(*r) +
                       " p=" + std::to_string(*p) + " is beyond the bounds (128·N·r <= 256 MiB, "
                       "N·r·p <= 2^21)");
  }
  // Exactly werkzeug's 64 bytes: a shorter digest is a prefix of the real
  // one, and must not verify as if it were whole.
  auto digest = hex_decode(parts[2]);
  if (parts[1].empty() || !digest || digest->size() != 64) {
    return failed(f, "werkzeug scrypt needs a salt and a 64-byte hex digest");
  }
  parsed_hash out;
  out.family = f;
  out.n = *n;
  out.r = *r;
  out.p = *p;
  out.salt = std::string(parts[1]);
  out.digest = std::move(*digest);
  return out;
}

/// `pbkdf2_sha256$N$salt$base64` (and pbkdf2_sha1)
parsed_hash parse_django_pbkdf2(std::string_view stored) {
  const auto f = hash_family::django_pbkdf2;
  auto parts = split(stored, '$');
  if (parts.size() != 4) {
    return failed(f, "Django pbkdf2 hashes are ALGORITHM$N$SALT$BASE64");
  }
  const EVP_MD* md = parts[0] == "pbkdf2_sha256" ? EVP_sha256() : parts[0] == "pbkdf2_sha1" ? EVP_sha1() : nullptr;
  if (md == nullptr) {
    return failed(f, "unsupported Django pbkdf2 algorithm (pbkdf2_sha256, pbkdf2_sha1)");
  }
  auto out = pbkdf2_parts(f, md, parts[1], std::string(parts[2]), base64_decode(parts[3]));
  // Django's digest is the hash's full size; a shorter one would be a prefix.
  if (out.error.empty() && out.digest.size() != static_cast<std::size_t>(EVP_MD_size(md))) {
    return failed(f, "the digest's length does not match the hash");
  }
  return out;
}

/// `solod-pbkdf2-sha256$N$SALTHEX$HASHHEX`
parsed_hash parse_classic(std::string_view stored) {
  const auto f = hash_family::classic_pbkdf2;
  auto parts = split(stored, '$');
  if (parts.size() != 4) {
    return failed(f, "solod-pbkdf2-sha256 hashes are solod-pbkdf2-sha256$N$SALTHEX$HASHHEX");
  }
  auto salt = hex_decode(parts[2]);
  if (!salt) {
    return failed(f, "the salt is not hex");
  }
  return pbkdf2_parts(f, EVP_sha256(), parts[1], std::move(*salt), hex_decode(parts[3]));
}

/// `$2b$12$` + 53 characters of bcrypt's base64.
parsed_hash parse_bcrypt(hash_family f, std::string_view setting, bool prehash) {
  if (setting.size() != 60 || setting[0] != '$' || setting[1] != '2' ||
      (setting[2] != 'a' && setting[2] != 'b' && setting[2] != 'y') || setting[3] != '$' ||
      setting[6] != '$') {
    return failed(f, "bcrypt hashes are $2a$, $2b$ or $2y$, a two-digit cost and 53 characters");
  }
  auto cost = parse_count(setting.substr(4, 2));
  if (!cost || *cost < 4 || *cost > 31) {
    return failed(f, "the bcrypt cost is not 04-31");
  }
  if (*cost > hash_bounds::max_bcrypt_cost) {
    return failed(f, "bcrypt cost " + std::to_string(*cost) + " is beyond the bound of " +
                       std::to_string(hash_bounds::max_bcrypt_cost));
  }
  for (char c : setting.substr(7)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '/';
    if (!ok) {
      return failed(f, "the bcrypt salt and hash hold a character outside bcrypt's alphabet");
    }
  }
  parsed_hash out;
  out.family = f;
  out.setting = std::string(setting);
  out.sha256_prehash = prehash;
  return out;
}

/// `$argon2id$v=19$m=M,t=T,p=P$salt$hash` (or argon2i).
parsed_hash parse_argon2(hash_family f, std::string_view phc) {
  auto parts = split(phc, '$');
  if (parts.size() != 6 || !parts[0].empty() || (parts[1] != "argon2id" && parts[1] != "argon2i")) {
    return failed(f, "Argon2 hashes are $argon2id$v=19$m=M,t=T,p=P$SALT$HASH");
  }
  if (parts[2] != "v=19") {
    return failed(f, "only Argon2 version 19 is supported");
  }
  auto params = split(parts[3], ',');
  if (params.size() != 3 || !starts_with(params[0], "m=") || !starts_with(params[1], "t=") ||
      !starts_with(params[2], "p=")) {
    return failed(f, "Argon2 parameters are m=M,t=T,p=P");
  }
  auto m = parse_count(params[0].substr(2));
  auto t = parse_count(params[1].substr(2));
  auto p = parse_count(params[2].substr(2));
  if (!m || !t || !p || *t < 1 || *p < 1 || *m < 8 * *p) {
    return failed(f, "Argon2 parameters are out of range");
  }
  if (*m > hash_bounds::max_argon2_memory_kib || *t > hash_bounds::max_argon2_passes ||
      *p > hash_bounds::max_argon2_lanes) {
    return failed(f, "Argon2 cost m=" + std::to_string(*m) + " t=" + std::to_string(*t) +
                       " p=" + std::to_string(*p) + " is beyond the bounds (m <= 262144 KiB, "
                       "t <= 16, p <= 16)");
  }
  if (parts[4].empty() || parts[5].size() < 16 || phc.size() > 512) {
    return failed(f, "the Argon2 salt or hash is missing");
  }
  parsed_hash out;
  out.family = f;
  out.setting = std::string(phc);
  out.argon2i = parts[1] == "argon2i";
  return out;
}

parsed_hash parse(std::string_view stored) {
  if (stored.empty()) {
    return failed(hash_family::unknown, "the password hash is empty");
  }
  if (stored.size() > 1024) {
    return failed(hash_family::unknown, "the password hash is longer than 1024 characters");
  }
  if (starts_with(stored, "$argon2id$")) {
    return parse_argon2(hash_family::argon2id, stored);
  }
  if (starts_with(stored, "$argon2i$")) {
    return parse_argon2(hash_family::argon2i, stored);
  }
  if (starts_with(stored, "$2")) {
    return parse_bcrypt(hash_family::bcrypt, stored, false);
  }
  if (starts_with(stored, "pbkdf2:")) {
    return parse_werkzeug_pbkdf2(stored);
  }
  if (starts_with(stored, "scrypt:")) {
    return parse_werkzeug_scrypt(stored);
  }
  if (starts_with(stored, "pbkdf2_")) {
    return parse_django_pbkdf2(stored);
  }
  if (starts_with(stored, "argon2$")) {
    return parse_argon2(hash_family::django_argon2, stored.substr(6));
  }
  if (starts_with(stored, "bcrypt_sha256$")) {
    return parse_bcrypt(hash_family::django_bcrypt_sha256, stored.substr(14), true);
  }
  if (starts_with(stored, "bcrypt$")) {
    return parse_bcrypt(hash_family::django_bcrypt, stored.substr(7), false);
  }
  if (starts_with(stored, "solod-pbkdf2-sha256$")) {
    return parse_classic(stored);
  }
  return failed(hash_family::unknown, "unknown password hash format");
}

// -- verification ------------------------------------------------------------------

bool same_bytes(const std::string& a, const unsigned char* b, std::size_t n) {
  return a.size() == n && CRYPTO_memcmp(a.data(), b, n) == 0;
}

hash_verdict verify_pbkdf2(const parsed_hash& h, std::string_view password) {
  std::vector<unsigned char> out(h.digest.size());
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(h.salt.data()),
                        static_cast<int>(h.salt.size()), static_cast<int>(h.iterations), h.md,
                        static_cast<int>(out.size()), out.data()) != 1) {
    return hash_verdict::refused;
  }
  return same_bytes(h.digest, out.data(), out.size()) ? hash_verdict::match : hash_verdict::mismatch;
}

hash_verdict verify_scrypt(const parsed_hash& h, std::string_view password) {
  std::vector<unsigned char> out(h.digest.size());
  // OpenSSL's own limit is 32 MiB; werkzeug's default needs a little more.
  const std::uint64_t maxmem = 128 * h.r * (h.n + h.p + 2) + (std::uint64_t{1} << 20);
  if (EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(h.salt.data()), h.salt.size(), h.n,
                     h.r, h.p, maxmem, out.data(), out.size()) != 1) {
    return hash_verdict::refused;
  }
  return same_bytes(h.digest, out.data(), out.size()) ? hash_verdict::match : hash_verdict::mismatch;
}

hash_verdict verify_bcrypt(const parsed_hash& h, std::string_view password) {
  std::string secret;
  if (h.sha256_prehash) {
    unsigned char sha[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(password.data(), password.size(), sha, &len, EVP_sha256(), nullptr) != 1) {
      return hash_verdict::refused;
    }
    secret = hex_encode(sha, len);
  } else {
    // crypt_r takes a C string: a NUL would cut the password short.
    if (password.find('\0') != std::string_view::npos) {
      return hash_verdict::mismatch;
    }
    secret = std::string(password);
  }
  auto data = std::make_unique<crypt_data>(); // zeroed, as crypt_r wants it
  const char* out = crypt_r(secret.c_str(), h.setting.c_str(), data.get());
  sodium_memzero(secret.data(), secret.size());
  if (out == nullptr || out[0] == '*') {
    return hash_verdict::refused;
  }
  const std::string_view computed{out};
  bool ok = computed.size() == h.setting.size() &&
            CRYPTO_memcmp(computed.data(), h.setting.data(), computed.size()) == 0;
  sodium_memzero(data.get(), sizeof(crypt_data));
  return ok ? hash_verdict::match : hash_verdict::mismatch;
}

hash_verdict verify_argon2(const parsed_hash& h, std::string_view password) {
  int rc = h.argon2i
             ? crypto_pwhash_argon2i_str_verify(h.setting.c_str(), password.data(), password.size())
             : crypto_pwhash_argon2id_str_verify(h.setting.c_str(), password.data(), password.size());
  return rc == 0 ? hash_verdict::match : hash_verdict::mismatch;
}

} // namespace

hash_inspection inspect_hash(std::string_view stored) {
  auto h = parse(stored);
  return hash_inspection{h.family, std::move(h.error)};
}

hash_verdict verify_stored_hash(std::string_view stored, std::string_view password) {
  if (sodium_init() < 0) {
    return hash_verdict::refused;
  }
  const auto h = parse(stored);
  if (!h.error.empty()) {
    return hash_verdict::refused;
  }
  switch (h.family) {
    case hash_family::werkzeug_pbkdf2:
    case hash_family::django_pbkdf2:
    case hash_family::classic_pbkdf2:
      return verify_pbkdf2(h, password);
    case hash_family::werkzeug_scrypt:
      return verify_scrypt(h, password);
    case hash_family::bcrypt:
    case hash_family::django_bcrypt:
    case hash_family::django_bcrypt_sha256:
      return verify_bcrypt(h, password);
    case hash_family::argon2id:
    case hash_family::argon2i:
    case hash_family::django_argon2:
      return verify_argon2(h, password);
    case hash_family::unknown:
      break;
  }
  return hash_verdict::refused;
}

bool is_legacy_hash(std::string_view stored) {
  return !starts_with(stored, "$argon2id$");
}

std::optional<std::string> classic_pbkdf2_hash(std::string_view salt, std::string_view hash_hex,
                                               std::uint64_t iterations) {
  auto digest = hex_decode(hash_hex);
  if (salt.empty() || !digest || digest->size() < 16 || digest->size() > 64 || iterations < 1 ||
      iterations > hash_bounds::max_pbkdf2_iterations) {
    return std::nullopt;
  }
  return "solod-pbkdf2-sha256$" + std::to_string(iterations) + "$" +
         hex_encode(reinterpret_cast<const unsigned char*>(salt.data()), salt.size()) + "$" +
         hex_encode(reinterpret_cast<const unsigned char*>(digest->data()), digest->size());
}

const char* hash_family_name(hash_family family) {
  switch (family) {
    case hash_family::argon2id: return "argon2id";
    case hash_family::argon2i: return "argon2i";
    case hash_family::werkzeug_pbkdf2: return "werkzeug-pbkdf2";
    case hash_family::werkzeug_scrypt: return "werkzeug-scrypt";
    case hash_family::django_pbkdf2: return "django-pbkdf2";
    case hash_family::django_argon2: return "django-argon2";
    case hash_family::django_bcrypt: return "django-bcrypt";
    case hash_family::django_bcrypt_sha256: return "django-bcrypt-sha256";
    case hash_family::bcrypt: return "bcrypt";
    case hash_family::classic_pbkdf2: return "solod-pbkdf2-sha256";
    case hash_family::unknown: break;
  }
  return "unknown";
}

} // namespace solod
