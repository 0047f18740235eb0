#pragma once
/// @brief Time arithmetic that holds at the clock's ends instead of wrapping around.
///
/// A time_point counts nanoseconds in 64 bits (about ±292 years). A configured
/// number of days or milliseconds in that unit can exceed it, and the plain
/// sum then overflows (undefined; in practice it wraps): `now - retention_days`
/// once landed in the future and the retention job deleted the whole audit
/// log. Every sum of a time and a configured duration goes through here.

#include "util/clock.hpp"

#include <chrono>
#include <optional>
#include <ratio>
#include <type_traits>

namespace solod {

/// The clock ticks in `d`, or nothing when that does not fit in 64 bits.
template <class Rep, class Period>
std::optional<time_point::duration::rep> ticks_of(std::chrono::duration<Rep, Period> d) {
  using tick = time_point::duration;
  using per_unit = std::ratio_divide<Period, tick::period>; // clock ticks in one unit of d
  static_assert(std::is_integral_v<Rep> && std::is_signed_v<Rep> && per_unit::den == 1,
                "saturating time arithmetic takes signed integer durations no finer than the clock");
  // Checked builtins rather than 128-bit products: no runtime helper is
  // needed under UBSan with clang.
  tick::rep out = 0;
  if (__builtin_mul_overflow(static_cast<tick::rep>(d.count()),
                             static_cast<tick::rep>(per_unit::num), &out)) {
    return std::nullopt;
  }
  return out;
}

/// `t + d`, exact, or the first/last representable instant when out of range.
template <class Rep, class Period>
time_point add_saturating(time_point t, std::chrono::duration<Rep, Period> d) {
  using tick = time_point::duration;
  const auto step = ticks_of(d);
  tick::rep sum = 0;
  if (!step || __builtin_add_overflow(t.time_since_epoch().count(), *step, &sum)) {
    return d.count() > 0 ? time_point::max() : time_point::min();
  }
  return time_point{tick{sum}};
}

/// `t - d`, exact, or the first/last representable instant when out of range.
template <class Rep, class Period>
time_point sub_saturating(time_point t, std::chrono::duration<Rep, Period> d) {
  using tick = time_point::duration;
  const auto step = ticks_of(d);
  tick::rep diff = 0;
  if (!step || __builtin_sub_overflow(t.time_since_epoch().count(), *step, &diff)) {
    return d.count() > 0 ? time_point::min() : time_point::max();
  }
  return time_point{tick{diff}};
}

} // namespace solod
