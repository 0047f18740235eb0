// Tests for src/auth/jwt.*: round trips and the RFC 8725 attacks, with tokens forged
// here through OpenSSL so each rejection is of a real, correctly built token.

#include "auth/jwt.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

using namespace solod;
using nlohmann::json;

namespace {

const std::string key = "0123456789abcdef0123456789abcdef-test-key";
const time_point now{std::chrono::seconds{1'800'000'000}};
const long long now_s = 1'800'000'000;

/// base64url, through OpenSSL's standard base64; `pad` keeps the '=' padding.
std::string b64url(const std::string& in, bool pad = false) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  for (char& c : out) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    }
  }
  if (!pad) {
    while (!out.empty() && out.back() == '=') {
      out.pop_back();
    }
  }
  return out;
}

std::string hmac(const EVP_MD* md, const std::string& k, const std::string& data) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, k.data(), static_cast<int>(k.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       buf, &len);
  return std::string(reinterpret_cast<const char*>(buf), len);
}

/// "header.payload" from raw JSON texts.
std::string unsigned_part(const std::string& header, const std::string& payload, bool pad = false) {
  return b64url(header, pad) + "." + b64url(payload, pad);
}

/// A complete token, signed over its own header and payload with `md` and `k`.
std::string forge(const std::string& header, const std::string& payload, const std::string& k = key,
                  const EVP_MD* md = EVP_sha256()) {
  const std::string signing_input = unsigned_part(header, payload);
  return signing_input + "." + b64url(hmac(md, k, signing_input));
}

const std::string hs256_header = R"({"alg":"HS256","typ":"JWT"})";

json good_payload() {
  return {{"iss", "solod"}, {"sub", "42"},       {"name", "alice"},      {"sid", std::string(32, 'a')},
          {"jti", std::string(32, 'b')}, {"iat", now_s}, {"exp", now_s + 3600}};
}

token_claims good_claims() {
  token_claims c;
  c.sub = "42";
  c.name = "alice";
  c.sid = std::string(32, 'a');
  c.jti = std::string(32, 'b');
  c.iat = now_s;
  c.exp = now_s + 3600;
  return c;
}

/// The error `verify` reports, or a failure when it accepted the token.
token_error error_of(const token_codec& codec, std::string_view token) {
  const auto result = codec.verify(token, now);
  REQUIRE(std::holds_alternative<token_error>(result));
  return std::get<token_error>(result);
}

} // namespace

TEST_CASE("jwt: sign then verify returns the claims", "[jwt]") {
  const token_codec codec{key};
  const std::string token = codec.sign(good_claims());
  const auto result = codec.verify(token, now);
  REQUIRE(std::holds_alternative<token_claims>(result));
  const auto& c = std::get<token_claims>(result);
  CHECK(c.sub == "42");
  CHECK(c.name == "alice");
  CHECK(c.sid == std::string(32, 'a'));
  CHECK(c.jti == std::string(32, 'b'));
  CHECK(c.iat == now_s);
  CHECK(c.exp == now_s + 3600);
}

TEST_CASE("jwt: the token has the fixed HS256 header and iss solod", "[jwt]") {
  const token_codec codec{key};
  const std::string token = codec.sign(good_claims());
  const auto dot = token.find('.');
  CHECK(token.substr(0, dot) == b64url(hs256_header));
  const auto dot2 = token.find('.', dot + 1);
  std::string payload_b64 = token.substr(dot + 1, dot2 - dot - 1);
  // Decode through OpenSSL to check the payload independently.
  for (char& c : payload_b64) {
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  while (payload_b64.size() % 4 != 0) {
    payload_b64 += '=';
  }
  std::string raw(payload_b64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                reinterpret_cast<const unsigned char*>(payload_b64.data()),
                                static_cast<int>(payload_b64.size()));
  REQUIRE(n > 0);
  raw.resize(static_cast<std::size_t>(n));
  while (!raw.empty() && raw.back() == '\0') {
    raw.pop_back();
  }
  const json payload = json::parse(raw);
  CHECK(payload.at("iss") == "solod");
  CHECK(payload.at("sub") == "42");
}

TEST_CASE("jwt: a token built independently with OpenSSL verifies", "[jwt]") {
  const token_codec codec{key};
  CHECK(std::holds_alternative<token_claims>(codec.verify(forge(hs256_header, good_payload().dump()), now)));
}

TEST_CASE("jwt: alg none in any spelling is refused", "[jwt][rfc8725]") {
  const token_codec codec{key};
  const std::string payload = good_payload().dump();
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    INFO(alg);
    const std::string header = json{{"alg", alg}, {"typ", "JWT"}}.dump();
    const std::string input = unsigned_part(header, payload);
    // The classic attack: no signature at all.
    CHECK(error_of(codec, input + ".") == token_error::bad_algorithm);
    // And with a signature that is a correct HMAC under the real key.
    CHECK(error_of(codec, input + "." + b64url(hmac(EVP_sha256(), key, input))) == token_error::bad_algorithm);
  }
}

TEST_CASE("jwt: other algorithms and spellings of alg are refused", "[jwt][rfc8725]") {
  const token_codec codec{key};
  const std::string payload = good_payload().dump();
  // A genuine HS512 token under the same key.
  CHECK(error_of(codec, forge(R"({"alg":"HS512","typ":"JWT"})", payload, key, EVP_sha512())) ==
        token_error::bad_algorithm);
  CHECK(error_of(codec, forge(R"({"alg":"hs256","typ":"JWT"})", payload)) == token_error::bad_algorithm);
  CHECK(error_of(codec, forge(R"({"alg":"HS256 ","typ":"JWT"})", payload)) == token_error::bad_algorithm);
  CHECK(error_of(codec, forge(R"({"typ":"JWT"})", payload)) == token_error::bad_algorithm);
  CHECK(error_of(codec, forge(R"({"alg":256,"typ":"JWT"})", payload)) == token_error::bad_algorithm);
  CHECK(error_of(codec, forge(R"({"alg":["HS256"],"typ":"JWT"})", payload)) == token_error::bad_algorithm);
  CHECK(error_of(codec, forge(R"({"alg":null})", payload)) == token_error::bad_algorithm);
  CHECK(error_of(codec, forge(R"({"alg":"RS256","typ":"JWT"})", payload)) == token_error::bad_algorithm);
}

TEST_CASE("jwt: an HS256 header over an HS512 MAC is a bad signature", "[jwt][rfc8725]") {
  const token_codec codec{key};
  CHECK(error_of(codec, forge(hs256_header, good_payload().dump(), key, EVP_sha512())) ==
        token_error::bad_signature);
}

TEST_CASE("jwt: a token signed with another key is refused", "[jwt]") {
  const token_codec codec{key};
  CHECK(error_of(codec, forge(hs256_header, good_payload().dump(), "another-key-another-key-another-key!")) ==
        token_error::bad_signature);
  // The same check through a second codec.
  const token_codec other{std::string(32, 'x')};
  CHECK(error_of(codec, other.sign(good_claims())) == token_error::bad_signature);
}

TEST_CASE("jwt: a tampered payload keeps its old signature and fails", "[jwt]") {
  const token_codec codec{key};
  const std::string token = codec.sign(good_claims());
  const auto dot1 = token.find('.');
  const auto dot2 = token.rfind('.');
  json evil = good_payload();
  evil["sub"] = "1";
  const std::string tampered = token.substr(0, dot1 + 1) + b64url(evil.dump()) + token.substr(dot2);
  CHECK(error_of(codec, tampered) == token_error::bad_signature);

  // The payload is not even parsed before the signature holds: garbage there is a signature error.
  const std::string junk = token.substr(0, dot1 + 1) + b64url("not json") + token.substr(dot2);
  CHECK(error_of(codec, junk) == token_error::bad_signature);
}

TEST_CASE("jwt: a signature with stray trailing bits is refused", "[jwt]") {
  const token_codec codec{key};
  std::string token = codec.sign(good_claims());
  // 32 bytes take 43 characters; the last carries 2 unused bits. Flip them.
  char& last = token.back();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const auto v = alphabet.find(last);
  last = alphabet[v ^ 1];
  CHECK(std::holds_alternative<token_error>(codec.verify(token, now)));
}

TEST_CASE("jwt: iss must be solod", "[jwt]") {
  const token_codec codec{key};
  json p = good_payload();
  p["iss"] = "someone-else";
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::bad_issuer);
  p["iss"] = 1;
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::bad_issuer);
  p.erase("iss");
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::bad_issuer);
}

TEST_CASE("jwt: exp at or before now is expired", "[jwt]") {
  const token_codec codec{key};
  json p = good_payload();
  p["exp"] = now_s;
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::expired);
  p["exp"] = now_s - 1;
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::expired);
  p["exp"] = now_s + 1;
  CHECK(std::holds_alternative<token_claims>(codec.verify(forge(hs256_header, p.dump()), now)));

  token_claims c = good_claims();
  c.exp = now_s;
  CHECK(error_of(codec, codec.sign(c)) == token_error::expired);
}

TEST_CASE("jwt: wrong shapes are malformed", "[jwt]") {
  const token_codec codec{key};
  const std::string token = codec.sign(good_claims());
  const auto dot2 = token.rfind('.');
  CHECK(error_of(codec, "") == token_error::malformed);
  CHECK(error_of(codec, "garbage") == token_error::malformed);
  CHECK(error_of(codec, "a.b.c") == token_error::malformed);
  CHECK(error_of(codec, "...") == token_error::malformed);
  CHECK(error_of(codec, "%%%.$$$.###") == token_error::malformed);
  // Two segments: the signature dropped.
  CHECK(error_of(codec, token.substr(0, dot2)) == token_error::malformed);
  // Four segments.
  CHECK(error_of(codec, token + "." + token.substr(dot2 + 1)) == token_error::malformed);
  CHECK(error_of(codec, token + ".") == token_error::malformed);
  // Empty header or payload.
  CHECK(error_of(codec, token.substr(token.find('.'))) == token_error::malformed);
  // Whitespace around the token is not ours to trim.
  CHECK(error_of(codec, " " + token) == token_error::malformed);
  // Absurdly long.
  CHECK(error_of(codec, token + std::string(10'000, 'A')) == token_error::malformed);
}

TEST_CASE("jwt: padded or standard-alphabet base64 is refused", "[jwt]") {
  const token_codec codec{key};
  json p = good_payload();
  // Pick a name that makes the payload need padding.
  std::string name = "alice";
  while (p.dump().size() % 3 == 0) {
    name += "x";
    p["name"] = name;
  }
  const std::string padded_input = unsigned_part(hs256_header, p.dump(), true);
  REQUIRE(padded_input.find('=') != std::string::npos);
  // Correctly signed over its padded text: only the encoding is wrong.
  const std::string padded = padded_input + "." + b64url(hmac(EVP_sha256(), key, padded_input));
  CHECK(error_of(codec, padded) == token_error::malformed);

  // Padding on the signature segment.
  const std::string input = unsigned_part(hs256_header, good_payload().dump());
  CHECK(error_of(codec, input + "." + b64url(hmac(EVP_sha256(), key, input), true)) == token_error::malformed);

  // '+' and '/' from the standard alphabet in the signature.
  std::string sig = b64url(hmac(EVP_sha256(), key, input));
  for (char& c : sig) {
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  if (sig.find_first_of("+/") == std::string::npos) {
    sig[0] = '+';
  }
  CHECK(error_of(codec, input + "." + sig) == token_error::malformed);
}

TEST_CASE("jwt: header and payload must be JSON objects", "[jwt]") {
  const token_codec codec{key};
  const std::string payload = good_payload().dump();
  CHECK(error_of(codec, forge("not json at all", payload)) == token_error::malformed);
  CHECK(error_of(codec, forge(R"(["HS256","JWT"])", payload)) == token_error::malformed);
  CHECK(error_of(codec, forge(R"("HS256")", payload)) == token_error::malformed);
  CHECK(error_of(codec, forge(R"({"alg":"HS256")", payload)) == token_error::malformed);
  // A correctly signed payload that is not an object.
  CHECK(error_of(codec, forge(hs256_header, R"(["solod","42"])")) == token_error::malformed);
  CHECK(error_of(codec, forge(hs256_header, "{")) == token_error::malformed);
}

TEST_CASE("jwt: a crit header is refused", "[jwt]") {
  const token_codec codec{key};
  CHECK(error_of(codec, forge(R"({"alg":"HS256","crit":["exp"]})", good_payload().dump())) ==
        token_error::malformed);
}

TEST_CASE("jwt: required claims must be present and typed", "[jwt]") {
  const token_codec codec{key};
  for (const char* claim : {"sub", "name", "sid", "jti", "iat", "exp"}) {
    INFO(claim);
    json p = good_payload();
    p.erase(claim);
    CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::missing_claim);
  }
  json p = good_payload();
  p["exp"] = std::to_string(now_s + 3600);
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::missing_claim);
  p = good_payload();
  p["exp"] = static_cast<double>(now_s) + 3600.5;
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::missing_claim);
  p = good_payload();
  p["iat"] = nullptr;
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::missing_claim);
  p = good_payload();
  p["sub"] = 42;
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::missing_claim);
  p = good_payload();
  p["sub"] = "";
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::missing_claim);
  p = good_payload();
  p["sid"] = "";
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::missing_claim);
  p = good_payload();
  p["jti"] = json::array();
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::missing_claim);
  // An exp beyond long long is not an integer we can compare.
  p = good_payload();
  p["exp"] = std::uint64_t{18'446'744'073'709'551'615ULL};
  CHECK(error_of(codec, forge(hs256_header, p.dump())) == token_error::missing_claim);
}

TEST_CASE("jwt: a secret under 32 bytes is refused", "[jwt]") {
  CHECK_THROWS_AS(token_codec{""}, std::invalid_argument);
  CHECK_THROWS_AS(token_codec{std::string(31, 'k')}, std::invalid_argument);
  CHECK_NOTHROW(token_codec{std::string(32, 'k')});
}

TEST_CASE("jwt: error texts exist", "[jwt]") {
  CHECK(std::string{to_string(token_error::expired)}.size() > 0);
  CHECK(std::string{to_string(token_error::bad_algorithm)}.size() > 0);
}

TEST_CASE("jwt: the fingerprint never contains the token", "[jwt]") {
  const token_codec codec{key};
  const std::string token = codec.sign(good_claims());
  const std::string fp = token_fingerprint(token);
  CHECK(fp.find(token) == std::string::npos);
  CHECK(fp.rfind(token.substr(0, 8), 0) == 0);
  CHECK(fp.find("(" + std::to_string(token.size()) + " chars)") != std::string::npos);
  CHECK(fp.size() < 40);
  // Short inputs are not shown whole either.
  CHECK(token_fingerprint("abcdef").find("abcdef") == std::string::npos);
  CHECK(token_fingerprint("Q").find('Q') == std::string::npos);
  // Control characters do not reach the log.
  CHECK(token_fingerprint("ab\ncd\r\nefghijkl").find('\n') == std::string::npos);
}
