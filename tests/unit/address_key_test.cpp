// Tests for src/util/address_key.*.

#include "util/address_key.hpp"

#include <catch2/catch.hpp>

using namespace solod;

TEST_CASE("address_key: an IPv4 address is its own key", "[address_key]") {
  CHECK(address_key("127.0.0.1") == "127.0.0.1");
  CHECK(address_key("10.1.2.3") != address_key("10.1.2.4"));
}

TEST_CASE("address_key: an IPv6 address counts as its /64", "[address_key]") {
  CHECK(address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64");
  CHECK(address_key("2001:db8:1:2:ffff:eeee:dddd:cccc") == "2001:db8:1:2::/64");
  // Any spelling of the same /64 gives the same key.
  CHECK(address_key("2001:0db8:0001:0002:0000:0000:0000:0001") == "2001:db8:1:2::/64");
  // The next /64 is another client.
  CHECK(address_key("2001:db8:1:3::1") == "2001:db8:1:3::/64");
  CHECK(address_key("::1") == "::/64");
  CHECK(address_key("fe80::1%eth0") == "fe80::/64");
}

TEST_CASE("address_key: an IPv4-mapped IPv6 address counts as its IPv4 address", "[address_key]") {
  CHECK(address_key("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(address_key("::ffff:192.0.2.7") != address_key("::ffff:192.0.2.8"));
}

TEST_CASE("address_key: text that is no address is kept as it is", "[address_key]") {
  CHECK(address_key("") == "");
  CHECK(address_key("unknown") == "unknown");
  CHECK(address_key("2001:db8::zz") == "2001:db8::zz");
}
