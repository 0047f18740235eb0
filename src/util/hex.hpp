#pragma once
/// @brief Hexadecimal digits: one digit's value (percent-decoding), and fixed-size byte strings.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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

/// Reads exactly `2 * N` hex digits into `out`; false for anything else.
template <std::size_t N>
bool bytes_from_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) {
    return false;
  }
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

/// `bytes` as lower-case hex.
template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * N);
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

} // namespace solod
