// Tests for src/util/time_format.*.

#include "util/time_format.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace solod;
using namespace std::chrono;

namespace {

solod::time_point at(year_month_day ymd, hours h = hours{0}, minutes m = minutes{0}, seconds s = seconds{0},
              milliseconds ms = milliseconds{0}) {
  return solod::time_point{sys_days{ymd}} + h + m + s + ms;
}

} // namespace

TEST_CASE("time_format: formats UTC with milliseconds and Z", "[time]") {
  CHECK(format_iso8601(at(year{2026} / 11 / 22, hours{9}, minutes{10}, seconds{0}, milliseconds{123})) ==
        "2026-11-22T09:10:00.123Z");
  CHECK(format_iso8601(solod::time_point{}) == "1970-01-01T00:00:00.000Z");
  CHECK(format_iso8601(at(year{1999} / 12 / 31, hours{23}, minutes{59}, seconds{59}, milliseconds{999})) ==
        "1999-12-31T23:59:59.999Z");
  // Sub-millisecond parts are cut, not rounded up into the next second.
  CHECK(format_iso8601(solod::time_point{seconds{1}} + microseconds{999'999}) == "1970-01-01T00:00:01.999Z");
  // Before the epoch the fields still count forward from the start of the day.
  CHECK(format_iso8601(solod::time_point{} - milliseconds{1}) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("time_format: parses the accepted forms", "[time]") {
  const auto day = at(year{2026} / 11 / 22);
  CHECK(parse_iso8601("2026-11-22") == day);
  CHECK(parse_iso8601("2026-11-22T09:10") == day + hours{9} + minutes{10});
  CHECK(parse_iso8601("2026-11-22T09:10Z") == day + hours{9} + minutes{10});
  CHECK(parse_iso8601("2026-11-22T09:10:05") == day + hours{9} + minutes{10} + seconds{5});
  CHECK(parse_iso8601("2026-11-22T09:10:05Z") == day + hours{9} + minutes{10} + seconds{5});
  CHECK(parse_iso8601("2026-11-22T09:10:05.123") == day + hours{9} + minutes{10} + seconds{5} + milliseconds{123});
  CHECK(parse_iso8601("2026-11-22T09:10:05.123Z") ==
        day + hours{9} + minutes{10} + seconds{5} + milliseconds{123});
  CHECK(parse_iso8601("2024-02-29") == at(year{2024} / 2 / 29));
  CHECK(parse_iso8601("2000-02-29T23:59:59.999Z") ==
        at(year{2000} / 2 / 29, hours{23}, minutes{59}, seconds{59}, milliseconds{999}));
  CHECK(parse_iso8601("1970-01-01T00:00:00.000Z") == solod::time_point{});
}

TEST_CASE("time_format: format and parse round trip", "[time]") {
  const solod::time_point t = solod::time_point{milliseconds{1'800'000'123'456}};
  CHECK(parse_iso8601(format_iso8601(t)) == t);
}

TEST_CASE("time_format: refuses everything else", "[time]") {
  for (const char* text : {
         "",
         "2026",
         "2026-11",
         "2026-13-01",
         "2026-00-10",
         "2026-11-00",
         "2026-11-31",
         "2026-04-31",
         "2025-02-29",
         "1900-02-29",
         "2026-1-01",
         "2026-01-1",
         "26-01-01",
         "2026/01/01",
         "2026-11-22Z",
         "2026-11-22T",
         "2026-11-22T09",
         "2026-11-22T9:10",
         "2026-11-22T24:00",
         "2026-11-22T23:60",
         "2026-11-22T23:59:60",
         "2026-11-22T09:10:5",
         "2026-11-22T09:10:05.",
         "2026-11-22T09:10:05.12",
         "2026-11-22T09:10:05.1234",
         "2026-11-22T09:10:05.123ZZ",
         "2026-11-22T09:10:05.123z",
         "2026-11-22t09:10",
         "2026-11-22 09:10",
         "2026-11-22T09:10+01:00",
         "2026-11-22T09:10:05.123+00:00",
         " 2026-11-22",
         "2026-11-22 ",
         "2026-11-22x",
         "-026-11-22",
         "2026-11-22T09:10:05.123Z\n",
         "yesterday",
       }) {
    INFO('"' << text << '"');
    CHECK_FALSE(parse_iso8601(text).has_value());
  }
  // An embedded NUL does not end the input early.
  CHECK_FALSE(parse_iso8601(std::string_view{"2026-11-22\0junk", 15}).has_value());
}
