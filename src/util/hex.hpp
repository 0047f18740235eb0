#pragma once
/// @brief The value of one hexadecimal digit (percent-decoding, in URLs and query strings).

namespace solod {

/// 0-15 for `0-9`, `a-f`, `A-F`; -1 for anything else.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

} // namespace solod
