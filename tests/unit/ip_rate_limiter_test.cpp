// Tests for src/auth/ip_rate_limiter.*, on a manual clock.

#include "auth/ip_rate_limiter.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace solod;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST_CASE("ip_rate_limiter: allows N per minute, then says how long to wait", "[limiter]") {
  manual_clock clk;
  ip_rate_limiter limiter{clk, 3};

  CHECK_FALSE(limiter.try_acquire("10.0.0.1"));  // t = 0
  clk.advance(seconds{10});
  CHECK_FALSE(limiter.try_acquire("10.0.0.1"));  // t = 10
  clk.advance(seconds{10});
  CHECK_FALSE(limiter.try_acquire("10.0.0.1"));  // t = 20

  clk.advance(seconds{10}); // t = 30: the attempt from t = 0 leaves at t = 60
  CHECK(limiter.try_acquire("10.0.0.1") == 30);
  // Another client is not affected.
  CHECK_FALSE(limiter.try_acquire("10.0.0.2"));

  // Refused attempts do not count, or a hammering client would never get back in.
  clk.advance(seconds{29}); // t = 59
  CHECK(limiter.try_acquire("10.0.0.1") == 1);
  clk.advance(milliseconds{500}); // t = 59.5: rounds up, never 0
  CHECK(limiter.try_acquire("10.0.0.1") == 1);
  clk.advance(milliseconds{499}); // t = 59.999
  CHECK(limiter.try_acquire("10.0.0.1") == 1);
  clk.advance(milliseconds{1}); // t = 60
  CHECK_FALSE(limiter.try_acquire("10.0.0.1"));
  // Full again; the oldest is now the one from t = 10.
  CHECK(limiter.try_acquire("10.0.0.1") == 10);
}

TEST_CASE("ip_rate_limiter: Retry-After rounds up partial seconds", "[limiter]") {
  manual_clock clk;
  ip_rate_limiter limiter{clk, 1};
  CHECK_FALSE(limiter.try_acquire("ip"));
  clk.advance(milliseconds{58'500});
  CHECK(limiter.try_acquire("ip") == 2);
  clk.advance(milliseconds{1}); // 1.499 s left
  CHECK(limiter.try_acquire("ip") == 2);
  CHECK(limiter.try_acquire("ip") == 2);
}

TEST_CASE("ip_rate_limiter: a burst is refused for a full minute", "[limiter]") {
  manual_clock clk;
  ip_rate_limiter limiter{clk, 30};
  for (int i = 0; i < 30; ++i) {
    CHECK_FALSE(limiter.try_acquire("203.0.113.9"));
  }
  CHECK(limiter.try_acquire("203.0.113.9") == 60);
  clk.advance(seconds{60});
  for (int i = 0; i < 30; ++i) {
    CHECK_FALSE(limiter.try_acquire("203.0.113.9"));
  }
  CHECK(limiter.try_acquire("203.0.113.9") == 60);
}

TEST_CASE("ip_rate_limiter: recovers after idle periods and pruning", "[limiter]") {
  manual_clock clk;
  ip_rate_limiter limiter{clk, 2};
  for (int i = 0; i < 1000; ++i) {
    CHECK_FALSE(limiter.try_acquire("198.51.100." + std::to_string(i)));
  }
  CHECK_FALSE(limiter.try_acquire("victim"));
  CHECK_FALSE(limiter.try_acquire("victim"));
  CHECK(limiter.try_acquire("victim") == 60);
  // Long after the window every entry is stale and is swept; the limit starts afresh.
  clk.advance(minutes{5});
  CHECK_FALSE(limiter.try_acquire("victim"));
  CHECK_FALSE(limiter.try_acquire("victim"));
  CHECK(limiter.try_acquire("victim") == 60);
  CHECK_FALSE(limiter.try_acquire("198.51.100.7"));
}

TEST_CASE("ip_rate_limiter: a clock stepping back does not lock clients out", "[limiter]") {
  manual_clock clk;
  const time_point start = clk.now();
  ip_rate_limiter limiter{clk, 1};
  CHECK_FALSE(limiter.try_acquire("ip"));
  clk.set(start - std::chrono::hours{1});
  CHECK_FALSE(limiter.try_acquire("ip"));
  CHECK(limiter.try_acquire("ip") == 60);
}

TEST_CASE("ip_rate_limiter: a limit under 1 is refused", "[limiter]") {
  manual_clock clk;
  CHECK_THROWS_AS(ip_rate_limiter(clk, 0), std::invalid_argument);
}

TEST_CASE("ip_rate_limiter: IPv6 clients share one budget per /64", "[limiter]") {
  manual_clock clk;
  ip_rate_limiter limiter{clk, 2};

  CHECK_FALSE(limiter.try_acquire("2001:db8:1:2::1"));
  CHECK_FALSE(limiter.try_acquire("2001:db8:1:2::ffff"));
  // A third address of the same /64 is the same client.
  CHECK(limiter.try_acquire("2001:db8:1:2:aaaa::3"));
  // The neighbouring /64 is not.
  CHECK_FALSE(limiter.try_acquire("2001:db8:1:3::1"));
  // IPv4 addresses stay apart, one by one.
  CHECK_FALSE(limiter.try_acquire("192.0.2.1"));
  CHECK_FALSE(limiter.try_acquire("192.0.2.1"));
  CHECK(limiter.try_acquire("192.0.2.1"));
  CHECK_FALSE(limiter.try_acquire("192.0.2.2"));
}
