// Tests for src/auth/hashing_pool.*. Workers are held on promises, never on sleeps.

#include "auth/hashing_pool.hpp"
#include "util/thread_priority.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <stdexcept>

using namespace solod;

TEST_CASE("hashing_pool: runs jobs on its own threads", "[pool]") {
  hashing_pool pool{2, 16};
  CHECK(pool.thread_count() == 2);
  std::promise<std::thread::id> where;
  auto done = where.get_future();
  REQUIRE(pool.try_submit([&where] { where.set_value(std::this_thread::get_id()); }));
  CHECK(done.get() != std::this_thread::get_id());
}

TEST_CASE("hashing_pool: its threads run below the rest of the process", "[pool]") {
  hashing_pool pool{2, 16};
  const int here = this_thread_niceness();
  for (int i = 0; i < 2; ++i) {
    std::promise<int> nice;
    auto seen = nice.get_future();
    REQUIRE(pool.try_submit([&nice] { nice.set_value(this_thread_niceness()); }));
    // Capped at 19, the lowest priority a nice value can say.
    CHECK(seen.get() == std::min(19, here + hashing_pool::niceness));
  }
  CHECK(this_thread_niceness() == here); // the caller's thread is untouched
}

TEST_CASE("hashing_pool: zero threads means one per core", "[pool]") {
  hashing_pool pool{0, 4};
  CHECK(pool.thread_count() >= 1);
  CHECK(pool.thread_count() == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("hashing_pool: try_submit refuses when the queue is full", "[pool]") {
  hashing_pool pool{1, 2};
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> ran{0};

  REQUIRE(pool.try_submit([&started, gate] {
    started.set_value();
    gate.wait();
  }));
  // The only worker now holds the blocker, so the queue is empty and stays put.
  started.get_future().get();
  CHECK(pool.queued() == 0);

  CHECK(pool.try_submit([&ran] { ++ran; }));
  CHECK(pool.try_submit([&ran] { ++ran; }));
  CHECK(pool.queued() == 2);
  CHECK_FALSE(pool.try_submit([&ran] { ++ran; }));
  CHECK(pool.queued() == 2);

  release.set_value();
  pool.stop();
  CHECK(ran == 2);
  CHECK(pool.queued() == 0);
}

TEST_CASE("hashing_pool: stop runs the queued jobs before it returns", "[pool]") {
  hashing_pool pool{1, 100'000};
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> ran{0};

  REQUIRE(pool.try_submit([&started, gate] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().get();
  for (int i = 0; i < 5; ++i) {
    REQUIRE(pool.try_submit([&ran] { ++ran; }));
  }

  // Another thread keeps submitting until stop() starts refusing, then lets the worker
  // go: so stop() is entered with jobs still queued. Whatever the interleaving, every
  // accepted job must have run when stop() returns.
  std::atomic<int> accepted{5};
  std::thread releaser{[&] {
    while (pool.try_submit([&ran] { ++ran; })) {
      ++accepted;
      std::this_thread::yield();
    }
    release.set_value();
  }};
  pool.stop();
  CHECK(ran == accepted);
  CHECK(pool.queued() == 0);
  releaser.join();
  CHECK_FALSE(pool.try_submit([] {}));
}

TEST_CASE("hashing_pool: a throwing job does not take the worker down", "[pool]") {
  hashing_pool pool{1, 4};
  REQUIRE(pool.try_submit([] { throw std::runtime_error("boom"); }));
  REQUIRE(pool.try_submit([] { throw 42; }));
  std::promise<int> after;
  auto done = after.get_future();
  REQUIRE(pool.try_submit([&after] { after.set_value(7); }));
  CHECK(done.get() == 7); // the single worker survived both throws and ran the next job
}

TEST_CASE("hashing_pool: the destructor drains and joins", "[pool]") {
  std::atomic<int> ran{0};
  {
    hashing_pool pool{2, 64};
    for (int i = 0; i < 50; ++i) {
      REQUIRE(pool.try_submit([&ran] { ++ran; }));
    }
  }
  CHECK(ran == 50);
}

TEST_CASE("hashing_pool: stop twice is harmless", "[pool]") {
  hashing_pool pool{1, 1};
  pool.stop();
  pool.stop();
  CHECK_FALSE(pool.try_submit([] {}));
}
