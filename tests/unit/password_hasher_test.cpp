// Tests for src/auth/password_hasher.*. Only one test pays for the production parameters;
// the rest use libsodium's minimums to stay quick.

#include "auth/password_hasher.hpp"

#include <catch2/catch.hpp>
#include <sodium.h>

#include <stdexcept>

using namespace solod;

namespace {

argon2_params cheap_params() {
  argon2_params p;
  p.ops_limit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
  p.mem_limit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
  return p;
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

TEST_CASE("password_hasher: default parameters are OWASP's Argon2id", "[password]") {
  const password_hasher hasher;
  const std::string h = hasher.hash("correct horse battery staple");
  CHECK(starts_with(h, "$argon2id$v=19$m=19456,t=2,p=1$"));
  CHECK(hasher.verify(h, "correct horse battery staple"));
  CHECK_FALSE(hasher.verify(h, "correct horse battery stapler"));
}

TEST_CASE("password_hasher: verify accepts the password and nothing else", "[password]") {
  const password_hasher hasher{cheap_params()};
  const std::string h = hasher.hash("s3cret-pass");
  CHECK(starts_with(h, "$argon2id$v=19$"));
  CHECK(hasher.verify(h, "s3cret-pass"));
  CHECK_FALSE(hasher.verify(h, "s3cret-pasS"));
  CHECK_FALSE(hasher.verify(h, "s3cret-pas"));
  CHECK_FALSE(hasher.verify(h, ""));
  CHECK_FALSE(hasher.verify(h, std::string_view{"s3cret-pass\0", 12}));
}

TEST_CASE("password_hasher: the same password hashes differently each time", "[password]") {
  const password_hasher hasher{cheap_params()};
  const std::string a = hasher.hash("same password");
  const std::string b = hasher.hash("same password");
  CHECK(a != b);
  CHECK(hasher.verify(a, "same password"));
  CHECK(hasher.verify(b, "same password"));
}

TEST_CASE("password_hasher: long passwords up to 1024 bytes work", "[password]") {
  const password_hasher hasher{cheap_params()};
  const std::string long_pw(1024, 'p');
  const std::string h = hasher.hash(long_pw);
  CHECK(hasher.verify(h, long_pw));
  CHECK_FALSE(hasher.verify(h, long_pw.substr(0, 1023)));
}

TEST_CASE("password_hasher: strings that are not Argon2id are refused", "[password]") {
  const password_hasher hasher{cheap_params()};
  // A genuine argon2i hash of the right password still fails: we store argon2id only.
  char argon2i[crypto_pwhash_STRBYTES];
  REQUIRE(crypto_pwhash_str_alg(argon2i, "pw-pw-pw", 8, 3, crypto_pwhash_argon2i_MEMLIMIT_MIN,
                                crypto_pwhash_ALG_ARGON2I13) == 0);
  REQUIRE(starts_with(argon2i, "$argon2i$"));
  CHECK_FALSE(hasher.verify(argon2i, "pw-pw-pw"));

  CHECK_FALSE(hasher.verify("", "pw-pw-pw"));
  CHECK_FALSE(hasher.verify("pw-pw-pw", "pw-pw-pw"));
  CHECK_FALSE(hasher.verify("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "pw-pw-pw"));
  CHECK_FALSE(hasher.verify("$argon2id$", "pw-pw-pw"));
  CHECK_FALSE(hasher.verify("$argon2id$v=19$m=8,t=1,p=1$garbage$garbage", "pw-pw-pw"));
  CHECK_FALSE(hasher.verify(std::string(500, 'x'), "pw-pw-pw"));
  // A truncated real hash.
  const std::string h = hasher.hash("pw-pw-pw");
  CHECK_FALSE(hasher.verify(h.substr(0, h.size() - 4), "pw-pw-pw"));
}

TEST_CASE("password_hasher: verify_dummy runs", "[password]") {
  const password_hasher hasher{cheap_params()};
  CHECK_NOTHROW(hasher.verify_dummy("whatever"));
  CHECK_NOTHROW(hasher.verify_dummy(""));
  CHECK(hasher.params().mem_limit == crypto_pwhash_argon2id_MEMLIMIT_MIN);
}

TEST_CASE("password_hasher: parameters below libsodium's minimum are refused", "[password]") {
  argon2_params p = cheap_params();
  p.ops_limit = 0;
  CHECK_THROWS_AS(password_hasher{p}, std::invalid_argument);
  p = cheap_params();
  p.mem_limit = 1024;
  CHECK_THROWS_AS(password_hasher{p}, std::invalid_argument);
}
