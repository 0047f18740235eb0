#pragma once
/// @brief The time stamps of recent events, for the sliding-window limiters.

#include "util/clock.hpp"

#include <deque>

namespace solod {

/// Drops attempts that have left the window ending at `now`, and any stamped after
/// `now`: the wall clock stepped back, and keeping them would lock clients out for the step.
inline void forget_outside(std::deque<time_point>& stamps, time_point now, milliseconds window) {
  // Compared in the window's unit: a long window converted to the clock's
  // nanoseconds could overflow.
  while (!stamps.empty() && std::chrono::duration_cast<milliseconds>(now - stamps.front()) >= window) {
    stamps.pop_front();
  }
  while (!stamps.empty() && stamps.back() > now) {
    stamps.pop_back();
  }
}

} // namespace solod
