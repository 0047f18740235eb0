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
#include <cstdint>
#include <limits>
#include <ratio>
#include <type_traits>

namespace solod {

/// `t + d`, exact, or the first/last representable instant when out of range.
template <class Rep, class Period>
constexpr time_point add_saturating(time_point t, std::chrono::duration<Rep, Period> d) {
  using tick = time_point::duration;
  using per_unit = std::ratio_divide<Period, tick::period>; // clock ticks in one unit of d
  static_assert(std::is_integral_v<Rep> && per_unit::den == 1,
                "add_saturating takes integer durations no finer than the clock");
  // 128 bits hold any int64 count of days or finer units in nanoseconds.
  const __int128 sum = static_cast<__int128>(t.time_since_epoch().count()) +
                       static_cast<__int128>(d.count()) * per_unit::num;
  using limits = std::numeric_limits<tick::rep>;
  if (sum > limits::max()) {
    return time_point::max();
  }
  if (sum < limits::min()) {
    return time_point::min();
  }
  return time_point{tick{static_cast<tick::rep>(sum)}};
}

/// `t - d`, exact, or the first/last representable instant when out of range.
template <class Rep, class Period>
constexpr time_point sub_saturating(time_point t, std::chrono::duration<Rep, Period> d) {
  using tick = time_point::duration;
  using per_unit = std::ratio_divide<Period, tick::period>;
  static_assert(std::is_integral_v<Rep> && per_unit::den == 1,
                "sub_saturating takes integer durations no finer than the clock");
  const __int128 diff = static_cast<__int128>(t.time_since_epoch().count()) -
                        static_cast<__int128>(d.count()) * per_unit::num;
  using limits = std::numeric_limits<tick::rep>;
  if (diff > limits::max()) {
    return time_point::max();
  }
  if (diff < limits::min()) {
    return time_point::min();
  }
  return time_point{tick{static_cast<tick::rep>(diff)}};
}

} // namespace solod
