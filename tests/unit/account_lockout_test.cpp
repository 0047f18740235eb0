// Tests for src/auth/account_lockout.*: the lockout policy on a manual clock,
// over the shared tables of a real (test) database.

#include "auth/account_lockout.hpp"
#include "storage/user_repository.hpp"
#include "support/test_database.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace solod;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

/// A test database with users, and the lockout under test on a manual clock.
struct lockout_world {
  test_support::test_database db;
  manual_clock clk;
  account_lockout lockout;
  soci::session& sql;

  lockout_world(int threshold, milliseconds window, milliseconds duration)
    : lockout(clk, threshold, window, duration), sql(*db.sql) {}

  std::int64_t user(const std::string& name) {
    user_record u;
    u.username = name;
    u.password_hash = "h";
    u.created_at = clk.now();
    auto created = user_repository(sql).insert(u);
    REQUIRE(created);
    return created->id;
  }

  bool locked(std::int64_t id) { return lockout.is_locked(sql, id); }
  failure_outcome fail(std::int64_t id) { return lockout.record_failure(sql, id); }
  bool succeed(std::int64_t id) { return lockout.record_success(sql, id); }
};

constexpr auto counted = failure_outcome::counted;
constexpr auto locks_now = failure_outcome::locks_now;
constexpr auto while_locked = failure_outcome::while_locked;

} // namespace

TEST_CASE("account_lockout: the threshold-th failure locks, once", "[lockout][storage]") {
  lockout_world w{3, minutes{15}, minutes{15}};
  const auto id = w.user("seven");
  const auto other = w.user("eight");
  CHECK_FALSE(w.locked(id));
  CHECK(w.fail(id) == counted);
  CHECK(w.fail(id) == counted);
  CHECK_FALSE(w.locked(id));
  CHECK(w.fail(id) == locks_now);
  CHECK(w.locked(id));
  // Further failures while locked neither report a new lock nor extend it.
  CHECK(w.fail(id) == while_locked);
  CHECK(w.fail(id) == while_locked);
  CHECK(w.locked(id));
  // Other accounts are untouched.
  CHECK_FALSE(w.locked(other));
}

TEST_CASE("account_lockout: the lock lasts exactly its duration", "[lockout][storage]") {
  lockout_world w{2, minutes{15}, minutes{10}};
  const auto id = w.user("one");
  CHECK(w.fail(id) == counted);
  CHECK(w.fail(id) == locks_now);
  w.clk.advance(minutes{5});
  CHECK(w.fail(id) == while_locked); // must not push the end to t = 15 min
  w.clk.advance(minutes{5} - milliseconds{1});
  CHECK(w.locked(id));
  w.clk.advance(milliseconds{1});
  CHECK_FALSE(w.locked(id));
  // The failures were cleared at lock time: a full threshold is needed again.
  CHECK(w.fail(id) == counted);
  CHECK_FALSE(w.locked(id));
  CHECK(w.fail(id) == locks_now);
  CHECK(w.locked(id));
}

TEST_CASE("account_lockout: failures older than the window are forgotten", "[lockout][storage]") {
  lockout_world w{3, minutes{15}, minutes{15}};
  const auto id = w.user("five");
  CHECK(w.fail(id) == counted); // t = 0
  w.clk.advance(minutes{10});
  CHECK(w.fail(id) == counted); // t = 10
  w.clk.advance(minutes{5});
  // t = 15: the first failure has left the window, so this is the second, not the third.
  CHECK(w.fail(id) == counted);
  CHECK_FALSE(w.locked(id));
  w.clk.advance(minutes{4});
  CHECK(w.fail(id) == locks_now); // t = 19: failures at 10, 15, 19
  CHECK(w.locked(id));
}

TEST_CASE("account_lockout: success clears failures but not a lock", "[lockout][storage]") {
  lockout_world w{3, minutes{15}, minutes{15}};
  const auto id = w.user("nine");
  CHECK(w.fail(id) == counted);
  CHECK(w.fail(id) == counted);
  CHECK(w.succeed(id));
  CHECK(w.fail(id) == counted);
  CHECK(w.fail(id) == counted);
  CHECK_FALSE(w.locked(id));
  CHECK(w.fail(id) == locks_now);
  CHECK_FALSE(w.succeed(id)); // the right password while locked does not log in
  CHECK(w.locked(id));
  w.clk.advance(minutes{15});
  CHECK_FALSE(w.locked(id));
  CHECK(w.succeed(id));
  // The lock's row is gone and no failure is left: three more are needed.
  CHECK(w.fail(id) == counted);
  CHECK(w.fail(id) == counted);
  CHECK(w.fail(id) == locks_now);
  const auto fresh = w.user("fortytwo");
  CHECK(w.succeed(fresh)); // nothing recorded: nothing to do
  CHECK_FALSE(w.locked(fresh));
}

TEST_CASE("account_lockout: a failure stamped a whole window ahead is dropped", "[lockout][storage]") {
  // The wall clock stepped back (by more than the window): failures recorded
  // before the step would otherwise count for the length of the step.
  lockout_world w{2, minutes{15}, minutes{15}};
  const auto id = w.user("stepper");
  CHECK(w.fail(id) == counted);
  w.clk.set(w.clk.now() - hours{2});
  CHECK(w.fail(id) == counted); // the earlier one is bogus now
  CHECK_FALSE(w.locked(id));
  // A failure a little ahead (another node's clock) still counts.
  lockout_world skew{2, minutes{15}, minutes{15}};
  const auto sid = skew.user("skewed");
  skew.clk.advance(seconds{2});
  CHECK(skew.fail(sid) == counted);
  skew.clk.set(skew.clk.now() - seconds{2});
  CHECK(skew.fail(sid) == locks_now);
}

TEST_CASE("account_lockout: bad settings are refused", "[lockout]") {
  manual_clock clk;
  CHECK_THROWS_AS(account_lockout(clk, 0, minutes{15}, minutes{15}), std::invalid_argument);
  CHECK_THROWS_AS(account_lockout(clk, 5, minutes{0}, minutes{15}), std::invalid_argument);
  CHECK_THROWS_AS(account_lockout(clk, 5, minutes{15}, minutes{0}), std::invalid_argument);
}

TEST_CASE("account_lockout: windows and durations too long for the clock saturate", "[lockout][storage]") {
  // Past the config's bounds on purpose: the arithmetic itself must not wrap
  // (a wrapped lock would end in the past, a wrapped window forget at once).
  lockout_world w{2, milliseconds::max(), milliseconds::max()};
  const auto id = w.user("seven");
  CHECK(w.fail(id) == counted);
  w.clk.advance(hours{24} * 365 * 100);
  CHECK(w.fail(id) == locks_now); // the first failure is still in the window
  CHECK(w.locked(id));
  w.clk.advance(hours{24} * 365 * 100);
  CHECK(w.locked(id)); // locked "forever", not unlocked by an overflow
}

TEST_CASE("account_lockout: old failures and ended locks of every account are pruned", "[lockout][storage]") {
  lockout_world w{2, minutes{15}, minutes{10}};
  const auto quiet = w.user("quiet");   // fails once, never again
  const auto locked = w.user("locked"); // locked, never seen again
  const auto busy = w.user("busy");
  CHECK(w.fail(quiet) == counted);
  CHECK(w.fail(locked) == counted);
  CHECK(w.fail(locked) == locks_now);
  auto rows = [&](const std::string& table) {
    return test_support::count_of(w.sql, "SELECT COUNT(*) FROM " + table);
  };
  CHECK(rows("login_failures") == 1);
  CHECK(rows("account_locks") == 1);
  w.clk.advance(minutes{30}); // past the window, the lock and the prune interval
  CHECK(w.fail(busy) == counted);
  CHECK(rows("login_failures") == 1); // busy's only
  CHECK(rows("account_locks") == 0);
  CHECK(test_support::count_of(w.sql, "SELECT COUNT(*) FROM login_failures WHERE user_id = " +
                                        std::to_string(busy)) == 1);
}
