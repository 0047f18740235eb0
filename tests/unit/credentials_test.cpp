// Tests for src/auth/credentials.*: the SPEC's username and password rules.
#include "auth/credentials.hpp"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("usernames are 3-32 of A-Z a-z 0-9 _ . -", "[credentials]") {
  CHECK(solod::is_valid_username("abc"));
  CHECK(solod::is_valid_username("A.b_c-9"));
  CHECK(solod::is_valid_username(std::string(32, 'x')));
  CHECK_FALSE(solod::is_valid_username("ab"));
  CHECK_FALSE(solod::is_valid_username(std::string(33, 'x')));
  CHECK_FALSE(solod::is_valid_username("has space"));
  CHECK_FALSE(solod::is_valid_username("ünï"));
  CHECK_FALSE(solod::is_valid_username("a/b/c"));
}

TEST_CASE("passwords are 8-1024 bytes", "[credentials]") {
  CHECK(solod::is_valid_password("12345678"));
  CHECK(solod::is_valid_password(std::string(1024, 'p')));
  CHECK_FALSE(solod::is_valid_password("1234567"));
  CHECK_FALSE(solod::is_valid_password(std::string(1025, 'p')));
}
