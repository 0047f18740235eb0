// Tests for the wait bound of src/util/worker_pool.* (the rest is in
// hashing_pool_test.cpp). Workers are held on promises; the only waits are
// generous upper bounds on futures, never sleeps.

#include "util/worker_pool.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>

using namespace solod;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

/// Holds the pool's only worker until released.
struct blocker {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();

  void hold(worker_pool& pool) {
    // The job keeps its own copy of the gate: the blocker may be gone (end of
    // the test's scope) while the released worker is still returning from wait().
    REQUIRE(pool.try_submit([this, gate = gate] {
      started.set_value();
      gate.wait();
    }));
    started.get_future().get();
  }
};

} // namespace

TEST_CASE("worker_pool: a job not started within its bound expires while the worker is busy",
          "[pool][wait]") {
  worker_pool pool{1, 16, "test-pool"};
  blocker b;
  b.hold(pool);
  std::atomic<bool> ran{false};
  std::promise<void> expired;
  auto heard = expired.get_future();
  REQUIRE(pool.try_submit([&ran] { ran = true; }, milliseconds{20},
                          [&expired] { expired.set_value(); }));
  // The answer comes while the worker is still held: the caller is not stuck
  // behind the queue.
  REQUIRE(heard.wait_for(seconds{30}) == std::future_status::ready);
  CHECK(pool.queued() == 0);
  CHECK(pool.expired_count() == 1);
  b.release.set_value();
  pool.stop();
  CHECK_FALSE(ran);
}

TEST_CASE("worker_pool: a job started in time runs and does not expire", "[pool][wait]") {
  worker_pool pool{1, 16, "test-pool"};
  std::atomic<bool> expired{false};
  std::promise<void> ran;
  auto done = ran.get_future();
  REQUIRE(pool.try_submit([&ran] { ran.set_value(); }, seconds{60}, [&expired] { expired = true; }));
  REQUIRE(done.wait_for(seconds{30}) == std::future_status::ready);
  pool.stop();
  CHECK_FALSE(expired);
  CHECK(pool.expired_count() == 0);
}

TEST_CASE("worker_pool: unbounded jobs wait as long as it takes, among expiring ones",
          "[pool][wait]") {
  worker_pool pool{1, 16, "test-pool"};
  blocker b;
  b.hold(pool);
  std::atomic<int> ran{0};
  std::promise<void> second_expired;
  auto heard = second_expired.get_future();
  REQUIRE(pool.try_submit([&ran] { ran += 1; }));                       // no bound
  REQUIRE(pool.try_submit([&ran] { ran += 10; }, milliseconds{10}, [] {}));
  REQUIRE(pool.try_submit([&ran] { ran += 100; }, milliseconds{20},
                          [&second_expired] { second_expired.set_value(); }));
  REQUIRE(pool.try_submit([&ran] { ran += 1000; }));                    // no bound
  REQUIRE(heard.wait_for(seconds{30}) == std::future_status::ready);
  CHECK(pool.queued() == 2);
  CHECK(pool.expired_count() == 2);
  b.release.set_value();
  pool.stop();
  CHECK(ran == 1001);
}

TEST_CASE("worker_pool: a throwing expiry callback does not stop the watchdog", "[pool][wait]") {
  worker_pool pool{1, 16, "test-pool"};
  blocker b;
  b.hold(pool);
  std::promise<void> later;
  auto heard = later.get_future();
  REQUIRE(pool.try_submit([] {}, milliseconds{5}, [] { throw std::runtime_error("boom"); }));
  REQUIRE(pool.try_submit([] {}, milliseconds{10}, [&later] { later.set_value(); }));
  REQUIRE(heard.wait_for(seconds{30}) == std::future_status::ready);
  b.release.set_value();
}
