// Tests for src/auth/secret_fingerprint.*: the fingerprint itself, and the
// start-up check against the one a database keeps.

#include "auth/secret_fingerprint.hpp"
#include "config/config.hpp"
#include "storage/cluster_settings_repository.hpp"
#include "support/test_database.hpp"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using solod::check_jwt_secret_fingerprint;
using solod::jwt_secret_fingerprint;

TEST_CASE("jwt_secret_fingerprint is HMAC-SHA256 of the fixed label, in hex", "[secret]") {
  // Reference values from Python's hmac.new(secret, b"solod jwt secret fingerprint v1", sha256).
  CHECK(jwt_secret_fingerprint("0123456789abcdef0123456789abcdef") ==
        "0b1f02d3ba35614fa8ef880378de93a57eed2ebbe653be9701702816c35ea6a6");
  // Keys longer than SHA-256's block are hashed first, as HMAC says.
  CHECK(jwt_secret_fingerprint(std::string(100, 'k')) ==
        "bceb94dcf2f520366b5a0c59c90e81dbee16881e3417a5407ea1e8c9426b9d1a");
}

TEST_CASE("check_jwt_secret_fingerprint: the first secret is kept, another is refused",
          "[secret][storage]") {
  test_support::test_database db;
  const std::string first = "first-secret-0123456789abcdef-0123456789";
  const std::string second = "second-secret-0123456789abcdef-012345678";
  CHECK_NOTHROW(check_jwt_secret_fingerprint(*db.sql, first));
  const auto stored = solod::cluster_settings_repository(*db.sql).get("jwt_secret_fingerprint");
  CHECK(stored == jwt_secret_fingerprint(first));
  CHECK_NOTHROW(check_jwt_secret_fingerprint(*db.sql, first)); // a restart, or another node
  CHECK_THROWS_WITH(check_jwt_secret_fingerprint(*db.sql, second),
                    Contains("JWT secret differs") && Contains("fingerprint mismatch"));
  CHECK_THROWS_AS(check_jwt_secret_fingerprint(*db.sql, second), solod::config_error);
  // The refused secret changed nothing, and no secret is stored anywhere.
  CHECK(solod::cluster_settings_repository(*db.sql).get("jwt_secret_fingerprint") == stored);
  CHECK(test_support::count_of(*db.sql, "SELECT COUNT(*) FROM cluster_settings WHERE value LIKE "
                                        "'%secret%'") == 0);
}
