#include "util/time_format.hpp"

#include <chrono>
#include <cstdio>

namespace solod {

namespace {

/// Reads exactly `count` ASCII digits at `pos`, advancing it; nothing when they are not all digits.
std::optional<int> read_digits(std::string_view text, std::size_t& pos, std::size_t count) {
  if (text.size() - pos < count) {
    return std::nullopt;
  }
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

/// Consumes `expected` at `pos`; false when the next character is something else.
bool read_char(std::string_view text, std::size_t& pos, char expected) {
  if (pos < text.size() && text[pos] == expected) {
    ++pos;
    return true;
  }
  return false;
}

} // namespace

std::string format_iso8601(time_point t) {
  using namespace std::chrono;
  // floor, not duration_cast: times before 1970 must not round towards the epoch.
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::optional<time_point> parse_iso8601(std::string_view text) {
  using namespace std::chrono;
  std::size_t pos = 0;
  const auto y = read_digits(text, pos, 4);
  if (!y || !read_char(text, pos, '-')) {
    return std::nullopt;
  }
  const auto mo = read_digits(text, pos, 2);
  if (!mo || !read_char(text, pos, '-')) {
    return std::nullopt;
  }
  const auto d = read_digits(text, pos, 2);
  if (!d) {
    return std::nullopt;
  }
  // ok() rejects month 13, day 0 and February 30 alike.
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  // The clock counts nanoseconds, so it ends in April 2262 and starts in 1677:
  // dates beyond clamp to its ends, which still compare as "after/before everything".
  if (*y > 2261 || *y < 1678) {
    return *y > 2261 ? time_point::max() : time_point::min();
  }
  time_point result{sys_days{ymd}};
  if (pos == text.size()) {
    return result;
  }

  if (!read_char(text, pos, 'T')) {
    return std::nullopt;
  }
  const auto h = read_digits(text, pos, 2);
  if (!h || !read_char(text, pos, ':')) {
    return std::nullopt;
  }
  const auto mi = read_digits(text, pos, 2);
  if (!mi) {
    return std::nullopt;
  }
  int s = 0;
  int ms = 0;
  if (read_char(text, pos, ':')) {
    const auto sec = read_digits(text, pos, 2);
    if (!sec) {
      return std::nullopt;
    }
    s = *sec;
    if (read_char(text, pos, '.')) {
      const auto frac = read_digits(text, pos, 3);
      if (!frac) {
        return std::nullopt;
      }
      ms = *frac;
    }
  }
  // Leap seconds (:60) are refused: the system clock never shows them.
  if (*h > 23 || *mi > 59 || s > 59) {
    return std::nullopt;
  }
  read_char(text, pos, 'Z');
  if (pos != text.size()) {
    return std::nullopt;
  }
  result += hours{*h} + minutes{*mi} + seconds{s} + milliseconds{ms};
  return result;
}

} // namespace solod
