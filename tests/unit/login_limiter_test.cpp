// Tests for src/auth/login_limiter.*, on a manual clock.

#include "auth/login_limiter.hpp"

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

TEST_CASE("account_lockout: the threshold-th failure locks, once", "[lockout]") {
  manual_clock clk;
  account_lockout lockout{clk, 3, minutes{15}, minutes{15}};
  CHECK_FALSE(lockout.is_locked(7));
  CHECK_FALSE(lockout.record_failure(7));
  CHECK_FALSE(lockout.record_failure(7));
  CHECK_FALSE(lockout.is_locked(7));
  CHECK(lockout.record_failure(7));
  CHECK(lockout.is_locked(7));
  // Further failures while locked neither report a new lock nor extend it.
  CHECK_FALSE(lockout.record_failure(7));
  CHECK_FALSE(lockout.record_failure(7));
  CHECK(lockout.is_locked(7));
  // Other accounts are untouched.
  CHECK_FALSE(lockout.is_locked(8));
}

TEST_CASE("account_lockout: the lock lasts exactly its duration", "[lockout]") {
  manual_clock clk;
  account_lockout lockout{clk, 2, minutes{15}, minutes{10}};
  CHECK_FALSE(lockout.record_failure(1));
  CHECK(lockout.record_failure(1));
  clk.advance(minutes{5});
  CHECK_FALSE(lockout.record_failure(1)); // must not push the end to t = 15 min
  clk.advance(minutes{5} - milliseconds{1});
  CHECK(lockout.is_locked(1));
  clk.advance(milliseconds{1});
  CHECK_FALSE(lockout.is_locked(1));
  // The failures were cleared at lock time: a full threshold is needed again.
  CHECK_FALSE(lockout.record_failure(1));
  CHECK_FALSE(lockout.is_locked(1));
  CHECK(lockout.record_failure(1));
  CHECK(lockout.is_locked(1));
}

TEST_CASE("account_lockout: failures older than the window are forgotten", "[lockout]") {
  manual_clock clk;
  account_lockout lockout{clk, 3, minutes{15}, minutes{15}};
  CHECK_FALSE(lockout.record_failure(5)); // t = 0
  clk.advance(minutes{10});
  CHECK_FALSE(lockout.record_failure(5)); // t = 10
  clk.advance(minutes{5});
  // t = 15: the first failure has left the window, so this is the second, not the third.
  CHECK_FALSE(lockout.record_failure(5));
  CHECK_FALSE(lockout.is_locked(5));
  clk.advance(minutes{4});
  CHECK(lockout.record_failure(5)); // t = 19: failures at 10, 15, 19
  CHECK(lockout.is_locked(5));
}

TEST_CASE("account_lockout: success clears failures but not a lock", "[lockout]") {
  manual_clock clk;
  account_lockout lockout{clk, 3, minutes{15}, minutes{15}};
  CHECK_FALSE(lockout.record_failure(9));
  CHECK_FALSE(lockout.record_failure(9));
  lockout.record_success(9);
  CHECK_FALSE(lockout.record_failure(9));
  CHECK_FALSE(lockout.record_failure(9));
  CHECK_FALSE(lockout.is_locked(9));
  CHECK(lockout.record_failure(9));
  lockout.record_success(9);
  CHECK(lockout.is_locked(9));
  clk.advance(minutes{15});
  CHECK_FALSE(lockout.is_locked(9));
  lockout.record_success(42); // unknown user: nothing to do
  CHECK_FALSE(lockout.is_locked(42));
}

TEST_CASE("account_lockout: bad settings are refused", "[lockout]") {
  manual_clock clk;
  CHECK_THROWS_AS(account_lockout(clk, 0, minutes{15}, minutes{15}), std::invalid_argument);
  CHECK_THROWS_AS(account_lockout(clk, 5, minutes{0}, minutes{15}), std::invalid_argument);
  CHECK_THROWS_AS(account_lockout(clk, 5, minutes{15}, minutes{0}), std::invalid_argument);
}

TEST_CASE("account_lockout: windows and durations too long for the clock saturate", "[lockout]") {
  // Past the config's bounds on purpose: the arithmetic itself must not wrap
  // (a wrapped lock would end in the past, a wrapped window forget at once).
  manual_clock clk;
  account_lockout lockout{clk, 2, milliseconds::max(), milliseconds::max()};
  CHECK_FALSE(lockout.record_failure(7));
  clk.advance(hours{24} * 365 * 100);
  CHECK(lockout.record_failure(7)); // the first failure is still in the window
  CHECK(lockout.is_locked(7));
  clk.advance(hours{24} * 365 * 100);
  CHECK(lockout.is_locked(7)); // locked "forever", not unlocked by an overflow
}
