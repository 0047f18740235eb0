// Tests for src/auth/account_lockout.*, on a manual clock.

#include "auth/account_lockout.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace solod;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

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
