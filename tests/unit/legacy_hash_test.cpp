// Tests for src/auth/legacy_hash.* and password_hasher::check: every imported hash
// format against vectors made at test time by the real implementations
// (tests/unit/legacy_hash_vectors.py: Debian's python3-werkzeug, python3-bcrypt,
// python3-argon2, hashlib for the Django and classic forms); wrong passwords,
// truncated and garbage strings, and costs beyond the bounds.

#include "auth/legacy_hash.hpp"
#include "auth/password_hasher.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <string>
#include <vector>

using namespace solod;

namespace {

/// The Debian interpreter, whose dist-packages hold python3-werkzeug and python3-bcrypt.
std::string debian_python() {
  const char* env = std::getenv("SOLOD_DEBIAN_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

/// Runs the generator once per test run; the vectors are new every time.
const nlohmann::json& vectors() {
  static const nlohmann::json data = [] {
    const std::string command =
      debian_python() + " " + SOLOD_SOURCE_DIR + "/tests/unit/legacy_hash_vectors.py";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) {
      out.append(buf, n);
    }
    const int status = pclose(pipe);
    INFO(command << " printed: " << out.substr(0, 400));
    REQUIRE(status == 0);
    auto j = nlohmann::json::parse(out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
  }();
  return data;
}

std::string password() {
  return vectors()["password"].get<std::string>();
}

std::string hex_of(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

/// `stored` with its first occurrence of `from` replaced by `to`.
std::string with(std::string stored, const std::string& from, const std::string& to) {
  auto at = stored.find(from);
  REQUIRE(at != std::string::npos);
  return stored.replace(at, from.size(), to);
}

/// The first vector of `family`.
std::string vector_of(const std::string& family) {
  for (const auto& v : vectors()["vectors"]) {
    if (v["family"] == family) {
      return v["hash"].get<std::string>();
    }
  }
  FAIL("no vector of " << family);
  return "";
}

argon2_params cheap_params() {
  argon2_params p;
  p.ops_limit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
  p.mem_limit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
  return p;
}

} // namespace

// One test case for everything that needs the vectors: the generator runs
// once per process (ctest runs each test case in a process of its own).
TEST_CASE("legacy_hash: vectors made by the real implementations", "[legacy_hash][password]") {
  SECTION("every vector of the real implementations verifies, and is recognised") {
    const auto pw = password();
    std::map<std::string, int> families;
    for (const auto& v : vectors()["vectors"]) {
      const auto stored = v["hash"].get<std::string>();
      const auto family = v["family"].get<std::string>();
      INFO(family << ": " << stored);
      auto inspection = inspect_hash(stored);
      CHECK(inspection.ok());
      CHECK(hash_family_name(inspection.family) == family);
      CHECK(verify_stored_hash(stored, pw) == hash_verdict::match);
      CHECK(is_legacy_hash(stored) == (family != "argon2id"));
      ++families[family];
    }
    // Every family of SPEC §9 was generated.
    for (const char* f : {"werkzeug-pbkdf2", "werkzeug-scrypt", "django-pbkdf2", "django-argon2",
                          "django-bcrypt", "django-bcrypt-sha256", "bcrypt", "argon2id", "argon2i"}) {
      CHECK(families[f] > 0);
    }
  }

  SECTION("a wrong password is a mismatch in every format") {
    const auto pw = password();
    for (const auto& v : vectors()["vectors"]) {
      const auto stored = v["hash"].get<std::string>();
      INFO(v["family"].get<std::string>() << ": " << stored);
      CHECK(verify_stored_hash(stored, pw + "x") == hash_verdict::mismatch);
      CHECK(verify_stored_hash(stored, pw.substr(1)) == hash_verdict::mismatch);
      CHECK(verify_stored_hash(stored, "") == hash_verdict::mismatch);
      // A NUL cannot cut a password short (crypt_r takes C strings).
      CHECK(verify_stored_hash(stored, pw + std::string(1, '\0') + "tail") == hash_verdict::mismatch);
    }
  }

  SECTION("the classic salt + hash pair, hex and utf8 salts") {
    const auto pw = password();
    for (const auto& c : vectors()["classic"]) {
      const std::string salt = c.contains("salt_hex") ? from_hex(c["salt_hex"].get<std::string>())
                                                       : c["salt_utf8"].get<std::string>();
      auto stored = classic_pbkdf2_hash(salt, c["hash_hex"].get<std::string>(),
                                        c["iterations"].get<std::uint64_t>());
      REQUIRE(stored);
      INFO(*stored);
      CHECK(stored->rfind("solod-pbkdf2-sha256$" + std::to_string(c["iterations"].get<int>()) + "$" +
                            hex_of(salt) + "$",
                          0) == 0);
      CHECK(inspect_hash(*stored).family == hash_family::classic_pbkdf2);
      CHECK(verify_stored_hash(*stored, pw) == hash_verdict::match);
      CHECK(verify_stored_hash(*stored, pw + "!") == hash_verdict::mismatch);
      // The wrong iteration count or salt does not match.
      auto other = classic_pbkdf2_hash(salt, c["hash_hex"].get<std::string>(),
                                       c["iterations"].get<std::uint64_t>() + 1);
      CHECK(verify_stored_hash(*other, pw) == hash_verdict::mismatch);
    }
    CHECK_FALSE(classic_pbkdf2_hash("salt", "abc", 1000));            // odd hex
    CHECK_FALSE(classic_pbkdf2_hash("salt", "zz" + std::string(30, 'a'), 1000));
    CHECK_FALSE(classic_pbkdf2_hash("salt", std::string(16, 'a'), 1000)); // 8 bytes: too short
    CHECK_FALSE(classic_pbkdf2_hash("", std::string(64, 'a'), 1000));
    CHECK_FALSE(classic_pbkdf2_hash("salt", std::string(64, 'a'), 0));
    CHECK_FALSE(classic_pbkdf2_hash("salt", std::string(64, 'a'), 10'000'000));
  }

  SECTION("truncated strings are refused or mismatch, never match") {
    const auto pw = password();
    for (const auto& v : vectors()["vectors"]) {
      const auto stored = v["hash"].get<std::string>();
      // Every length would cost minutes at the real costs: a spread of cuts.
      for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{7}, stored.size() / 2,
                              stored.size() - 10, stored.size() - 1}) {
        const auto cut = stored.substr(0, len);
        INFO(v["family"].get<std::string>() << " cut to " << len << ": " << cut);
        CHECK(verify_stored_hash(cut, pw) != hash_verdict::match);
      }
    }
  }

  SECTION("costs beyond the bounds are refused at once, not hashed") {
    const auto pw = password();
    const auto werkzeug = vector_of("werkzeug-pbkdf2");     // pbkdf2:sha256:1000$...
    const auto django = vector_of("django-pbkdf2");         // pbkdf2_sha256$1000$...
    const auto scrypt = vector_of("werkzeug-scrypt");       // scrypt:1024:8:1$...
    const auto bcrypt = vector_of("bcrypt");                // $2b$04$...
    const auto argon = vector_of("argon2id");               // m=8192,t=1,p=1
    const std::string huge[] = {
      with(werkzeug, ":1000$", ":1000000000$"),
      with(werkzeug, ":1000$", ":3000001$"),
      with(django, "$1000$", "$999999999999$"),
      with(scrypt, "scrypt:1024:", "scrypt:1073741824:"),
      with(scrypt, "scrypt:1024:8:1", "scrypt:1024:8:4096"),
      with(bcrypt, "$04$", "$31$"),
      with(bcrypt, "$04$", "$15$"),
      with(argon, "m=8192", "m=4194304"),
      with(argon, "t=1", "t=4000"),
      with(argon, "p=1", "p=255"),
      "argon2" + with(argon, "m=8192", "m=1048576"),
    };
    const auto start = std::chrono::steady_clock::now();
    for (const auto& h : huge) {
      INFO(h);
      auto inspection = inspect_hash(h);
      CHECK_FALSE(inspection.ok());
      CHECK_FALSE(inspection.error.empty());
      CHECK(verify_stored_hash(h, pw) == hash_verdict::refused);
    }
    // Not a timing assert: a record of what refusing cost, for whoever reads the log.
    WARN("refusing " << std::size(huge) << " hashes took "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start).count() << " ms");
    // Just inside the bounds is still accepted.
    CHECK(inspect_hash(with(werkzeug, ":1000$", ":3000000$")).ok());
    CHECK(inspect_hash(with(bcrypt, "$04$", "$14$")).ok());
  }

  SECTION("password_hasher::check: an imported hash verifies, then comes with its Argon2id") {
    const password_hasher hasher{cheap_params()};
    const auto pw = password();
    for (const char* family : {"werkzeug-pbkdf2", "django-pbkdf2", "bcrypt", "django-bcrypt-sha256",
                               "werkzeug-scrypt", "django-argon2"}) {
      const auto stored = vector_of(family);
      INFO(family);
      auto ok = hasher.check(stored, pw);
      CHECK(ok.match);
      CHECK(ok.refused.empty());
      REQUIRE(ok.upgraded);
      CHECK(ok.upgraded->rfind("$argon2id$v=19$", 0) == 0);
      CHECK(hasher.verify(*ok.upgraded, pw));
      CHECK_FALSE(is_legacy_hash(*ok.upgraded));

      auto wrong = hasher.check(stored, pw + "x");
      CHECK_FALSE(wrong.match);
      CHECK_FALSE(wrong.upgraded);
      CHECK(wrong.refused.empty());
    }
  }

  SECTION("password_hasher::check: solod's own hash needs no upgrade; other Argon2id parameters do") {
    const password_hasher hasher{cheap_params()};
    const auto own = hasher.hash("s3cret-pass");
    auto ok = hasher.check(own, "s3cret-pass");
    CHECK(ok.match);
    CHECK_FALSE(ok.upgraded);
    CHECK_FALSE(hasher.check(own, "s3cret-pasS").match);

    // The generator's Argon2id (m=8192, t=1) is not at these parameters.
    auto imported = hasher.check(vector_of("argon2id"), password());
    CHECK(imported.match);
    REQUIRE(imported.upgraded);
    CHECK(hasher.check(*imported.upgraded, password()).match);
    CHECK_FALSE(hasher.check(*imported.upgraded, password()).upgraded);
  }
}

TEST_CASE("legacy_hash: garbage is refused with a reason that does not quote it", "[legacy_hash]") {
  const std::string secretish = "S3CRETHASHPART";
  const std::vector<std::string> garbage{
        std::string(), std::string("plain text"), std::string("$"), std::string("$$$$$$"),
        std::string("pbkdf2:sha256:1000$") + secretish, "pbkdf2:md5:1000$salt$" + secretish,
        "pbkdf2:sha256$salt$" + secretish, "pbkdf2:sha256:-5$salt$" + secretish,
        "pbkdf2:sha256:1e3$salt$" + std::string(64, 'a'),
        "pbkdf2_sha256$1000$salt$" + secretish + "!!", "pbkdf2_md5$1000$salt$AAAA",
        "scrypt:1000:8:1$salt$" + std::string(128, 'a'), "scrypt:1024:8$salt$" + secretish,
        "$2b$04$" + secretish, "$2c$04$" + std::string(53, 'a'),
        "$2b$04$" + std::string(52, 'a') + "!", "$2b$xx$" + std::string(53, 'a'),
        "$argon2id$v=16$m=8192,t=1,p=1$c2FsdHNhbHQ$" + secretish,
        "$argon2id$v=19$t=1,m=8192,p=1$c2FsdHNhbHQ$" + secretish,
        "$argon2d$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$" + secretish, "argon2$" + secretish,
        "bcrypt$" + secretish, "bcrypt_sha256$" + secretish,
        "solod-pbkdf2-sha256$1000$zz$" + std::string(64, 'a'), std::string(2000, 'a'),
        std::string("\xff\xfe\x00\x01", 4)};
  for (const auto& g : garbage) {
    INFO(g);
    auto inspection = inspect_hash(g);
    CHECK_FALSE(inspection.ok());
    CHECK(inspection.error.find(secretish) == std::string::npos);
    CHECK(verify_stored_hash(g, "whatever password") == hash_verdict::refused);
  }
}

TEST_CASE("password_hasher::check: a refused stored hash fails and says why", "[legacy_hash][password]") {
  const password_hasher hasher{cheap_params()};
  auto r = hasher.check("pbkdf2:sha256:900000000$salt$" + std::string(64, 'a'), "whatever-password");
  CHECK_FALSE(r.match);
  CHECK_FALSE(r.upgraded);
  CHECK(r.refused.find("900000000") != std::string::npos);
  auto garbage = hasher.check("not a hash", "whatever-password");
  CHECK_FALSE(garbage.match);
  CHECK(garbage.refused == "unknown password hash format");
}
