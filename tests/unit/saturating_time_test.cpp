// Tests for src/util/saturating_time.hpp: sums of a time and a configured
// duration hold at the clock's ends instead of wrapping around.
#include "util/saturating_time.hpp"

#include <catch2/catch.hpp>

#include <climits>
#include <cstdint>

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using solod::add_saturating;
using solod::sub_saturating;
using solod::time_point;

namespace {

const time_point now{seconds{1'800'000'000}};

} // namespace

TEST_CASE("ordinary sums are exact", "[time]") {
  CHECK(add_saturating(now, hours{24}) == now + hours{24});
  CHECK(sub_saturating(now, hours{24} * 730) == now - hours{24} * 730);
  CHECK(add_saturating(now, milliseconds{-5}) == now - milliseconds{5});
  CHECK(sub_saturating(now, milliseconds{0}) == now);
}

TEST_CASE("a huge retention holds at the first instant, never in the future", "[time]") {
  // 24 h * INT_MAX days: far beyond the ±292 years of a nanosecond time_point.
  auto cutoff = sub_saturating(now, hours{24} * static_cast<std::int64_t>(INT_MAX));
  CHECK(cutoff == time_point::min());
  CHECK(cutoff < now);
  // The "keep forever" value, 1,000,000 days, is also in the past.
  CHECK(sub_saturating(now, hours{24} * std::int64_t{1'000'000}) == time_point::min());
}

TEST_CASE("a huge ttl holds at the last instant", "[time]") {
  CHECK(add_saturating(now, milliseconds::max()) == time_point::max());
  CHECK(add_saturating(now, hours{INT64_MAX}) == time_point::max());
  CHECK(add_saturating(now, hours{INT64_MIN}) == time_point::min());
  CHECK(add_saturating(time_point::max() - seconds{1}, seconds{2}) == time_point::max());
  CHECK(sub_saturating(now, milliseconds::min()) == time_point::max());
  CHECK(add_saturating(now, milliseconds::min()) == time_point::min());
  CHECK(sub_saturating(time_point::min() + seconds{1}, seconds{2}) == time_point::min());
}
