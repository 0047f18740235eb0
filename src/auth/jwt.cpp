#include "auth/jwt.hpp"

#include "util/json_text.hpp"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <optional>
#include <stdexcept>

namespace solod {

namespace {

using json = nlohmann::json;

/// The one header solod signs: {"alg":"HS256","typ":"JWT"}, pre-encoded.
constexpr std::string_view encoded_header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Tokens travel in headers and cookies; anything this long is not ours, and refusing it
/// early bounds the work (and JSON nesting) an attacker can make us do.
constexpr std::size_t max_token_bytes = 8192;

constexpr char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 7515 §2).
std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
    out.push_back(b64url_alphabet[v & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest == 1) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
  }
  return out;
}

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '-') {
    return 62;
  }
  if (c == '_') {
    return 63;
  }
  return -1;
}

/// Strict base64url decoding: no padding, no other alphabet, no stray bits. Rejecting
/// non-zero trailing bits keeps one signature from having several valid spellings.
std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = b64url_value(c);
    if (v < 0) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) {
    return std::nullopt;
  }
  return out;
}

using mac = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

mac hmac_sha256(std::string_view key, std::string_view data) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  mac out{};
  crypto_auth_hmacsha256_final(&state, out.data());
  return out;
}

/// Decodes one segment into a JSON object; nothing for bad base64, bad JSON or a non-object.
std::optional<json> decode_object(std::string_view segment) {
  const auto raw = base64url_decode(segment);
  if (!raw) {
    return std::nullopt;
  }
  // allow_exceptions = false: a parse error yields a discarded value instead of throwing.
  json value = json::parse(*raw, nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    return std::nullopt;
  }
  return value;
}

/// A non-empty string claim, or nothing.
std::optional<std::string> string_claim(const json& payload, const char* name, bool allow_empty) {
  const auto it = payload.find(name);
  if (it == payload.end() || !it->is_string()) {
    return std::nullopt;
  }
  std::string value = it->get<std::string>();
  if (!allow_empty && value.empty()) {
    return std::nullopt;
  }
  return value;
}

/// An integer claim that fits in long long, or nothing (floats and strings are refused).
std::optional<long long> integer_claim(const json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end() || !it->is_number_integer()) {
    return std::nullopt;
  }
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(LLONG_MAX)) {
      return std::nullopt;
    }
    return static_cast<long long>(u);
  }
  return it->get<long long>();
}

} // namespace

const char* to_string(token_error e) {
  switch (e) {
    case token_error::malformed:
      return "malformed token";
    case token_error::bad_algorithm:
      return "unsupported token algorithm";
    case token_error::bad_signature:
      return "bad token signature";
    case token_error::bad_issuer:
      return "bad token issuer";
    case token_error::expired:
      return "token expired";
    case token_error::missing_claim:
      return "token claim missing or invalid";
  }
  return "unknown token error";
}

token_codec::token_codec(std::string secret) : secret_(std::move(secret)) {
  if (secret_.size() < min_secret_bytes) {
    throw std::invalid_argument("JWT secret must be at least 32 bytes");
  }
  // Thread-safe and idempotent; libsodium wants it before first use.
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium initialisation failed");
  }
}

std::string token_codec::sign(const token_claims& claims) const {
  const json payload = {
    {"iss", "solod"},
    {"sub", claims.sub},
    {"name", claims.name},
    {"sid", claims.sid},
    {"jti", claims.jti},
    {"iat", claims.iat},
    {"exp", claims.exp},
  };
  std::string token{encoded_header};
  token += '.';
  token += base64url_encode(to_json_text(payload));
  const mac sig = hmac_sha256(secret_, token);
  token += '.';
  token += base64url_encode(std::string_view{reinterpret_cast<const char*>(sig.data()), sig.size()});
  return token;
}

std::variant<token_claims, token_error> token_codec::verify(std::string_view token, time_point now) const {
  if (token.empty() || token.size() > max_token_bytes) {
    return token_error::malformed;
  }
  const auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) {
    return token_error::malformed;
  }
  const auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return token_error::malformed;
  }
  const std::string_view header_seg = token.substr(0, dot1);
  const std::string_view payload_seg = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view sig_seg = token.substr(dot2 + 1);
  if (header_seg.empty() || payload_seg.empty()) {
    return token_error::malformed;
  }

  // The header decides nothing but must name HS256 exactly: "none" and algorithm
  // confusion (RFC 8725 §2.1) die here, whatever the signature says.
  const auto header = decode_object(header_seg);
  if (!header) {
    return token_error::malformed;
  }
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get<std::string>() != "HS256") {
    return token_error::bad_algorithm;
  }
  // We implement no JWS extensions, so any "crit" list names one we cannot honour (RFC 7515 §4.1.11).
  if (header->contains("crit")) {
    return token_error::malformed;
  }

  const auto sig = base64url_decode(sig_seg);
  if (!sig) {
    return token_error::malformed;
  }
  const mac expected = hmac_sha256(secret_, token.substr(0, dot2));
  if (sig->size() != expected.size() || sodium_memcmp(sig->data(), expected.data(), expected.size()) != 0) {
    return token_error::bad_signature;
  }

  // Only now is the payload ours to read.
  const auto payload = decode_object(payload_seg);
  if (!payload) {
    return token_error::malformed;
  }
  const auto iss = string_claim(*payload, "iss", false);
  if (!iss || *iss != "solod") {
    return token_error::bad_issuer;
  }
  auto sub = string_claim(*payload, "sub", false);
  auto name = string_claim(*payload, "name", true);
  auto sid = string_claim(*payload, "sid", false);
  auto jti = string_claim(*payload, "jti", false);
  const auto iat = integer_claim(*payload, "iat");
  const auto exp = integer_claim(*payload, "exp");
  if (!sub || !name || !sid || !jti || !iat || !exp) {
    return token_error::missing_claim;
  }
  if (*exp <= to_unix_seconds(now)) {
    return token_error::expired;
  }
  token_claims claims;
  claims.sub = std::move(*sub);
  claims.name = std::move(*name);
  claims.sid = std::move(*sid);
  claims.jti = std::move(*jti);
  claims.iat = *iat;
  claims.exp = *exp;
  return claims;
}

std::string token_fingerprint(std::string_view token) {
  // A short string would be shown whole by its first 8 characters; show at most half.
  const std::size_t shown = std::min<std::size_t>(8, token.size() / 2);
  std::string out;
  out.reserve(shown + 24);
  for (std::size_t i = 0; i < shown; ++i) {
    // Anything outside the token alphabet could be a log-injection attempt.
    const char c = token[i];
    out.push_back(b64url_value(c) >= 0 || c == '.' ? c : '?');
  }
  out += "\xe2\x80\xa6(";
  out += std::to_string(token.size());
  out += " chars)";
  return out;
}

} // namespace solod
