// Tests for src/net/io_pool.*: handlers are awaited on promises, never on sleeps.

#include "net/io_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace solod;

TEST_CASE("io_pool: next() deals contexts round-robin, each run by its own thread") {
  io_pool pool{3};
  REQUIRE(pool.size() == 3);
  pool.start();
  std::map<boost::asio::io_context*, std::set<std::thread::id>> threads_of;
  for (int i = 0; i < 9; ++i) {
    auto& ctx = pool.next();
    std::promise<std::thread::id> ran;
    boost::asio::post(ctx, [&ran] { ran.set_value(std::this_thread::get_id()); });
    threads_of[&ctx].insert(ran.get_future().get());
  }
  REQUIRE(threads_of.size() == 3); // three contexts, three times each
  std::set<std::thread::id> all;
  for (const auto& [ctx, ids] : threads_of) {
    CHECK(ids.size() == 1); // a context's handlers always run on one thread
    all.insert(*ids.begin());
  }
  CHECK(all.size() == 3);
  CHECK(all.count(std::this_thread::get_id()) == 0);
  pool.stop();
}

TEST_CASE("io_pool: stop() ends the threads even with work outstanding; a second stop is harmless") {
  io_pool pool{2};
  pool.start();
  // The Linux thread ids of the pool's threads, so the test can see them gone.
  std::vector<long> tids;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    std::promise<long> tid;
    boost::asio::post(pool.next(), [&tid] { tid.set_value(::syscall(SYS_gettid)); });
    tids.push_back(tid.get_future().get());
  }
  for (long tid : tids) {
    REQUIRE(std::filesystem::exists("/proc/self/task/" + std::to_string(tid)));
  }
  bool fired = false;
  boost::asio::steady_timer never(pool.first(), std::chrono::hours(1));
  never.async_wait([&fired](boost::system::error_code) { fired = true; });

  pool.stop();
  for (long tid : tids) {
    CHECK_FALSE(std::filesystem::exists("/proc/self/task/" + std::to_string(tid))); // joined
  }
  CHECK(pool.first().stopped());
  CHECK_FALSE(fired); // the hour-long wait was abandoned, not waited for
  pool.stop();        // again: nothing left to join, returns at once
  CHECK(pool.first().stopped());
}
