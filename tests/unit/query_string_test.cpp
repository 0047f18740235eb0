// Tests for src/util/query_string.*: URL decoding and query parsing.
#include "util/query_string.hpp"

#include <catch2/catch.hpp>

using solod::parse_query;
using solod::url_decode;

TEST_CASE("url_decode handles escapes and plus", "[query]") {
  CHECK(url_decode("a%20b+c") == "a b c");
  CHECK(url_decode("2026-11-22T09%3A10%3A00.000Z") == "2026-11-22T09:10:00.000Z");
  CHECK(url_decode("%e2%82%AC") == "\xe2\x82\xac");
  CHECK_FALSE(url_decode("%"));
  CHECK_FALSE(url_decode("%2"));
  CHECK_FALSE(url_decode("%zz"));
}

TEST_CASE("parse_query splits pairs, first value wins", "[query]") {
  auto q = parse_query("user=bob&event=login_success&empty=&flag&user=eve");
  REQUIRE(q);
  CHECK(q->at("user") == "bob");
  CHECK(q->at("event") == "login_success");
  CHECK(q->at("empty").empty());
  CHECK(q->at("flag").empty());
  CHECK(parse_query("")->empty());
  CHECK(parse_query("&&a=1&")->at("a") == "1");
  CHECK_FALSE(parse_query("a=%G1"));
}

TEST_CASE("decoded values are valid UTF-8 without controls", "[query]") {
  auto q = parse_query("user=%FF%C0%AF&ip=%00x&ok=caf%C3%A9&%FE=1&c1=%C2%85");
  REQUIRE(q);
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(q->at("user") == fffd + fffd + fffd);
  CHECK(q->at("ip") == fffd + "x");
  CHECK(q->at("ok") == "caf\xC3\xA9");
  CHECK(q->at(fffd) == "1");
  CHECK(q->at("c1") == fffd);
}
