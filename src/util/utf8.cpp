#include "util/utf8.hpp"

#include <algorithm>
#include <cstdint>

namespace solod {

namespace {

constexpr char32_t replacement = 0xFFFD;

/// One step of decoding: the code point (or `replacement`) and the bytes it used.
struct decoded {
  char32_t code_point;
  std::size_t length;
  bool valid;
};

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

/// Decodes the character at the start of `s` (not empty). An ill-formed
/// sequence yields `replacement` for its maximal subpart: the longest prefix
/// that could have started a well-formed sequence (at least one byte).
decoded decode_one(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) {
    return {b0, 1, true};
  }
  std::size_t need = 0;
  char32_t cp = 0;
  // The allowed range of the second byte (table 3-7) excludes overlongs,
  // surrogates and code points above U+10FFFF.
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) {
      lo = 0xA0;
    } else if (b0 == 0xED) {
      hi = 0x9F;
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) {
      lo = 0x90;
    } else if (b0 == 0xF4) {
      hi = 0x8F;
    }
  } else {
    return {replacement, 1, false}; // 0x80-0xC1, 0xF5-0xFF never start a character
  }
  std::size_t i = 1;
  for (; i <= need; ++i) {
    if (i >= s.size()) {
      return {replacement, i, false}; // truncated at the end
    }
    const auto b = static_cast<unsigned char>(s[i]);
    const bool in_range = i == 1 ? (b >= lo && b <= hi) : is_continuation(b);
    if (!in_range) {
      return {replacement, i, false};
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, need + 1, true};
}

bool is_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t encoded_length(char32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

} // namespace

bool is_valid_utf8(std::string_view text) {
  while (!text.empty()) {
    auto d = decode_one(text);
    if (!d.valid) {
      return false;
    }
    text.remove_prefix(d.length);
  }
  return true;
}

std::string sanitize_utf8(std::string_view text, std::size_t max_bytes, utf8_controls controls) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  while (!text.empty()) {
    auto d = decode_one(text);
    auto cp = d.code_point;
    if (controls == utf8_controls::replace && is_control(cp)) {
      cp = replacement;
    }
    if (out.size() + encoded_length(cp) > max_bytes) {
      break; // the cut: never half a character
    }
    if (d.valid && cp == d.code_point) {
      out.append(text.data(), d.length); // already well-formed: copy as is
    } else {
      append_utf8(out, cp);
    }
    text.remove_prefix(d.length);
  }
  return out;
}

} // namespace solod
