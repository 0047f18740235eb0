#pragma once
/// @brief UTC ISO-8601 timestamps with milliseconds, the one time format of the API and the database.

#include "util/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace solod {

/// Formats `t` as `2026-11-22T09:10:00.123Z`.
std::string format_iso8601(time_point t);

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.mmm]]` with an optional `Z` after the time
/// (UTC is assumed; exactly 3 fraction digits); nothing on any other input.
/// Years past 2261 or before 1678 clamp to the clock's ends.
std::optional<time_point> parse_iso8601(std::string_view text);

} // namespace solod
