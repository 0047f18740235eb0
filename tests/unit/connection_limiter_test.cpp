// Tests for src/net/connection_limiter.*.

#include "net/connection_limiter.hpp"
#include "util/metrics.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace solod;

TEST_CASE("connection_limiter: caps one address, not the others", "[connection_limiter]") {
  metrics stats;
  connection_limiter limiter{100, 2, {}, &stats};
  auto a = limiter.try_admit("127.0.0.1");
  auto b = limiter.try_admit("127.0.0.1");
  REQUIRE(a);
  REQUIRE(b);
  CHECK_FALSE(limiter.try_admit("127.0.0.1"));
  CHECK(stats.connections_refused_per_ip.load() == 1);
  auto other = limiter.try_admit("127.0.0.2");
  CHECK(other);
  CHECK(limiter.open() == 3);
  CHECK(stats.open_connections.load() == 3);

  // Closing one socket frees its place.
  a = connection_slot{};
  CHECK(limiter.open_from("127.0.0.1") == 1);
  CHECK(limiter.try_admit("127.0.0.1"));
  CHECK(limiter.open() == 2); // the admitted slot above was dropped at once
}

TEST_CASE("connection_limiter: an IPv6 /64 is one address", "[connection_limiter]") {
  metrics stats;
  connection_limiter limiter{100, 2, {}, &stats};
  auto a = limiter.try_admit("2001:db8:0:1::1");
  auto b = limiter.try_admit("2001:db8:0:1::2");
  CHECK_FALSE(limiter.try_admit("2001:db8:0:1:ffff::3"));
  CHECK(limiter.try_admit("2001:db8:0:2::1"));
}

TEST_CASE("connection_limiter: the total counts every socket", "[connection_limiter]") {
  metrics stats;
  connection_limiter limiter{3, 10, {}, &stats};
  std::vector<connection_slot> held;
  held.push_back(limiter.try_admit("10.0.0.1"));
  held.push_back(limiter.try_admit("10.0.0.2"));
  held.push_back(limiter.try_admit("10.0.0.3"));
  CHECK_FALSE(limiter.try_admit("10.0.0.4"));
  CHECK(stats.connections_refused_total.load() == 1);
  CHECK(stats.connections_refused_per_ip.load() == 0);
  held.pop_back();
  CHECK(limiter.try_admit("10.0.0.4"));
}

TEST_CASE("connection_limiter: trusted proxies have no per-address cap", "[connection_limiter]") {
  metrics stats;
  connection_limiter limiter{5, 1, {"10.0.0.0/8"}, &stats};
  std::vector<connection_slot> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(limiter.try_admit("10.0.0.1"));
    CHECK(held.back());
  }
  auto one = limiter.try_admit("192.0.2.1");
  CHECK(one);
  CHECK_FALSE(limiter.try_admit("10.0.0.1")); // the total still holds
}

TEST_CASE("connection_limiter: a moved slot frees its place once", "[connection_limiter]") {
  metrics stats;
  connection_limiter limiter{2, 2, {}, &stats};
  {
    auto a = limiter.try_admit("127.0.0.1");
    connection_slot b = std::move(a);
    CHECK_FALSE(a);
    CHECK(b);
    CHECK(limiter.open() == 1);
  }
  CHECK(limiter.open() == 0);
  CHECK(stats.open_connections.load() == 0);
}
