// Tests for src/net/message_rate_limiter.*: the flood limit of one WebSocket, with explicit times.

#include "net/message_rate_limiter.hpp"

#include <catch2/catch.hpp>

using solod::message_rate_limiter;
using verdict = message_rate_limiter::verdict;

TEST_CASE("message_rate_limiter: the limit passes, the next is warned once, twice the limit closes") {
  message_rate_limiter rate{5};
  const long long t = 1'000'000;
  for (int i = 1; i <= 5; ++i) {
    CHECK(rate.on_message(t + i) == verdict::pass);
  }
  CHECK(rate.on_message(t + 6) == verdict::warn); // the 6th
  for (int i = 7; i <= 10; ++i) {
    CHECK(rate.on_message(t + i) == verdict::drop); // 7th..10th: refused silently
  }
  CHECK(rate.on_message(t + 11) == verdict::close); // the 11th
}

TEST_CASE("message_rate_limiter: a new second opens a new window") {
  message_rate_limiter rate{3};
  const long long t = 50;
  for (int i = 0; i < 3; ++i) {
    CHECK(rate.on_message(t) == verdict::pass);
  }
  CHECK(rate.on_message(t + 999) == verdict::warn); // still the same second
  CHECK(rate.on_message(t + 1000) == verdict::pass); // a full second after the window opened
  CHECK(rate.on_message(t + 1001) == verdict::pass);
  CHECK(rate.on_message(t + 1002) == verdict::pass);
  CHECK(rate.on_message(t + 1003) == verdict::warn);
}

TEST_CASE("message_rate_limiter: the first message opens the window whatever the clock reads") {
  message_rate_limiter rate{1};
  CHECK(rate.on_message(0) == verdict::pass);
  CHECK(rate.on_message(0) == verdict::warn);
  CHECK(rate.on_message(-5) == verdict::close); // a clock that went back never resets the window
}
