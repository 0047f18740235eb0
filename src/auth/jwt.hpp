#pragma once
/// @brief JSON Web Tokens, HS256 only, with the claims of SPEC §3 "Tokens".

#include "util/clock.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace solod {

/// The claims solod puts into and requires from every token.
struct token_claims {
  std::string sub;  ///< user id, as a string
  std::string name; ///< username
  std::string sid;  ///< session id (32 hex chars)
  std::string jti;  ///< token id (32 hex chars)
  long long iat = 0; ///< issued at, Unix seconds
  long long exp = 0; ///< expires at, Unix seconds
};

/// Why a token was refused.
enum class token_error {
  malformed,       ///< not three base64url segments of JSON objects
  bad_algorithm,   ///< header alg is not exactly "HS256" (alg none, HS512, ...)
  bad_signature,   ///< HMAC does not match
  bad_issuer,      ///< iss is not "solod"
  expired,         ///< exp <= now
  missing_claim,   ///< sub, sid, jti, iat or exp absent or of the wrong type
};

/// A short text for logs and errors.
const char* to_string(token_error e);

/// Signs and verifies tokens with one HMAC-SHA256 key (at least 32 bytes).
class token_codec {
public:
  explicit token_codec(std::string secret);

  /// Encodes and signs `claims` (iss is added).
  std::string sign(const token_claims& claims) const;

  /// Verifies signature, alg, iss and exp against `now`; the claims or the reason.
  std::variant<token_claims, token_error> verify(std::string_view token, time_point now) const;

private:
  std::string secret_;
};

/// The minimum HS256 key length solod accepts, in bytes.
inline constexpr std::size_t min_secret_bytes = 32;

/// A loggable fingerprint of a token (never the token itself): its first 8 characters and length.
std::string token_fingerprint(std::string_view token);

} // namespace solod
