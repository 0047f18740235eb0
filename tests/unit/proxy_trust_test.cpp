// Tests for src/net/proxy_trust.*: CIDR matching and X-Forwarded-For trust.
#include "net/proxy_trust.hpp"

#include <catch2/catch.hpp>

using solod::ip_network;
using solod::proxy_trust;

TEST_CASE("CIDR networks parse and match", "[proxy]") {
  auto v4 = ip_network::parse("10.1.0.0/16");
  REQUIRE(v4);
  CHECK(v4->contains("10.1.200.3"));
  CHECK_FALSE(v4->contains("10.2.0.1"));
  CHECK_FALSE(v4->contains("::1"));
  auto single = ip_network::parse("127.0.0.1");
  REQUIRE(single);
  CHECK(single->contains("127.0.0.1"));
  CHECK_FALSE(single->contains("127.0.0.2"));
  auto v6 = ip_network::parse("2001:db8::/32");
  REQUIRE(v6);
  CHECK(v6->contains("2001:db8:1::5"));
  CHECK_FALSE(v6->contains("2001:db9::1"));
  CHECK(ip_network::parse("0.0.0.0/0")->contains("203.0.113.9"));
  CHECK_FALSE(ip_network::parse("10.0.0.0/33"));
  CHECK_FALSE(ip_network::parse("nonsense"));
  CHECK_FALSE(ip_network::parse("10.0.0.0/x"));
}

TEST_CASE("X-Forwarded-For is believed only from trusted peers", "[proxy]") {
  proxy_trust none({});
  CHECK(none.client_ip("127.0.0.1", "203.0.113.7") == "127.0.0.1");

  proxy_trust local({"127.0.0.1/32", "10.0.0.0/8"});
  CHECK(local.client_ip("127.0.0.1", "203.0.113.7") == "203.0.113.7");
  CHECK(local.client_ip("192.0.2.1", "203.0.113.7") == "192.0.2.1");
  CHECK(local.client_ip("127.0.0.1", "") == "127.0.0.1");
  // A client may prepend lies; only the hops our proxies appended count.
  CHECK(local.client_ip("127.0.0.1", "1.2.3.4, 203.0.113.7") == "203.0.113.7");
  CHECK(local.client_ip("127.0.0.1", "203.0.113.7, 10.0.0.5") == "203.0.113.7");
  CHECK(local.client_ip("127.0.0.1", "garbage") == "127.0.0.1");
}

TEST_CASE("an address with a NUL in it is no address (found by fuzz.proxy_trust)", "[proxy]") {
  using namespace std::string_literals;
  CHECK_FALSE(ip_network::parse("10.0.0.0\0/8"s));
  CHECK_FALSE(ip_network::parse("10.0.0.1"s).value().contains("10.0.0.1\0junk"s));
  proxy_trust local({"127.0.0.1/32"});
  // inet_pton stops at the NUL: "::\0..." used to be believed as the client "::" plus junk.
  CHECK(local.client_ip("127.0.0.1", "::\0=\x01"s) == "127.0.0.1");
}
