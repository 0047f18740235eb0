// Tests for src/actors/broadcast_budget.*, on a manual clock.

#include "actors/broadcast_budget.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace solod;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("broadcast_budget: one second's worth, then the rate", "[broadcast_budget]") {
  manual_clock clk;
  broadcast_budget budget{clk, 1000};
  CHECK(budget.try_spend(1, 600));
  CHECK(budget.try_spend(1, 400));
  CHECK_FALSE(budget.try_spend(1, 1)); // empty
  // Another sender has a budget of its own.
  CHECK(budget.try_spend(2, 1000));

  clk.advance(milliseconds{500}); // 500 bytes back
  CHECK_FALSE(budget.try_spend(1, 501));
  CHECK(budget.try_spend(1, 500));
  CHECK_FALSE(budget.try_spend(1, 1));

  // Idle time never saves more than one second's worth.
  clk.advance(seconds{60});
  CHECK(budget.try_spend(1, 1000));
  CHECK_FALSE(budget.try_spend(1, 1));
}

TEST_CASE("broadcast_budget: a message over one second's worth passes only from a full bucket",
          "[broadcast_budget]") {
  manual_clock clk;
  broadcast_budget budget{clk, 1000};
  CHECK(budget.try_spend(1, 3000)); // full: allowed, leaves a debt of 2000
  clk.advance(seconds{2});          // the debt is paid off, the bucket is empty
  CHECK_FALSE(budget.try_spend(1, 1));
  clk.advance(seconds{1});
  CHECK(budget.try_spend(1, 1000));
  CHECK_FALSE(budget.try_spend(1, 3000)); // not full: refused
}

TEST_CASE("broadcast_budget: a refused message costs nothing", "[broadcast_budget]") {
  manual_clock clk;
  broadcast_budget budget{clk, 1000};
  CHECK(budget.try_spend(1, 900));
  for (int i = 0; i < 100; ++i) {
    CHECK_FALSE(budget.try_spend(1, 200));
  }
  CHECK(budget.try_spend(1, 100));
}

TEST_CASE("broadcast_budget: a clock stepping back refills nothing and breaks nothing",
          "[broadcast_budget]") {
  manual_clock clk;
  broadcast_budget budget{clk, 1000};
  CHECK(budget.try_spend(1, 1000));
  clk.set(clk.now() - seconds{30});
  CHECK_FALSE(budget.try_spend(1, 1));
  clk.advance(seconds{1});
  CHECK_FALSE(budget.try_spend(1, 1)); // still before the last spend
}

TEST_CASE("broadcast_budget: idle senders are forgotten", "[broadcast_budget]") {
  manual_clock clk;
  broadcast_budget budget{clk, 1000};
  for (int user = 0; user < 50; ++user) {
    CHECK(budget.try_spend(user, 10));
  }
  CHECK(budget.tracked() == 50);
  clk.advance(seconds{20});
  CHECK(budget.try_spend(999, 10));
  CHECK(budget.tracked() == 1);
}

TEST_CASE("broadcast_budget: zero bytes per second is refused", "[broadcast_budget]") {
  manual_clock clk;
  CHECK_THROWS_AS((broadcast_budget{clk, 0}), std::invalid_argument);
}
