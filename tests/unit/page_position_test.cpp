// Tests for src/storage/page_position.*: opaque keyset cursors.
#include "storage/page_position.hpp"

#include <catch2/catch.hpp>

using solod::page_position;

TEST_CASE("cursors round-trip", "[cursor]") {
  page_position p{"2026-11-22T09:10:00.123Z", 4711, ""};
  auto back = page_position::decode(p.encode());
  REQUIRE(back);
  CHECK(back->timestamp == p.timestamp);
  CHECK(back->id == 4711);
  page_position s{"2026-11-22T09:10:00.123Z", 0, "d586a5b4a1dd93abdde98482bdedc9c5"};
  auto sb = page_position::decode(s.encode());
  REQUIRE(sb);
  CHECK(sb->key == s.key);
  // URL-safe: no characters that need escaping in a query string.
  CHECK(p.encode().find_first_of("+/=") == std::string::npos);
}

TEST_CASE("foreign cursors are refused", "[cursor]") {
  CHECK_FALSE(page_position::decode(""));
  CHECK_FALSE(page_position::decode("not base64!"));
  CHECK_FALSE(page_position::decode("aGVsbG8"));                  // "hello": no separators
  CHECK_FALSE(page_position::decode("bm90LWEtdGltZXwxfA"));       // "not-a-time|1|"
  CHECK_FALSE(page_position::decode(std::string(300, 'A')));
}
