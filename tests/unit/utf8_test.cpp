// The one UTF-8 sanitizer (util/utf8): every ill-formed byte sequence becomes
// U+FFFD per maximal subpart, controls are replaced on request, and the cut
// never splits a character.

#include "util/utf8.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

using solod::is_valid_utf8;
using solod::sanitize_utf8;
using solod::utf8_controls;

namespace {

const std::string fffd = "\xEF\xBF\xBD";

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

} // namespace

TEST_CASE("well-formed UTF-8 passes unchanged", "[utf8]") {
  for (std::string s : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC 20",
                        "\xF0\x9F\x98\x80 emoji", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF",
                        "\xEE\x80\x80"}) {
    CHECK(is_valid_utf8(s));
    CHECK(sanitize_utf8(s) == s);
  }
}

TEST_CASE("every byte 0x80-0xFF alone becomes one U+FFFD", "[utf8]") {
  for (int b = 0x80; b <= 0xFF; ++b) {
    std::string in = "a" + std::string(1, static_cast<char>(b)) + "z";
    INFO("byte " << b);
    CHECK_FALSE(is_valid_utf8(in));
    auto out = sanitize_utf8(in);
    CHECK(is_valid_utf8(out));
    // 0x80-0x9F alone is not the C1 character U+0080-U+009F: it is a stray
    // continuation byte, so it is replaced whatever the control rule says.
    CHECK(out == "a" + fffd + "z");
    CHECK(sanitize_utf8(in, std::string::npos, utf8_controls::keep) == "a" + fffd + "z");
  }
}

TEST_CASE("overlong forms are refused, one U+FFFD per byte", "[utf8]") {
  // "/" as two, three and four bytes; NUL as two bytes (modified UTF-8).
  CHECK(sanitize_utf8("\xC0\xAF") == repeat(fffd, 2));
  CHECK(sanitize_utf8("\xC1\xBF") == repeat(fffd, 2));
  CHECK(sanitize_utf8("\xE0\x80\xAF") == repeat(fffd, 3));
  CHECK(sanitize_utf8("\xF0\x80\x80\xAF") == repeat(fffd, 4));
  CHECK(sanitize_utf8("\xC0\x80") == repeat(fffd, 2));
  CHECK_FALSE(is_valid_utf8("\xE0\x9F\xBF"));
  CHECK(is_valid_utf8("\xE0\xA0\x80")); // U+0800, the smallest three-byte form
}

TEST_CASE("surrogates and code points above U+10FFFF are refused", "[utf8]") {
  CHECK(sanitize_utf8("\xED\xA0\x80") == repeat(fffd, 3));   // U+D800
  CHECK(sanitize_utf8("\xED\xBF\xBF") == repeat(fffd, 3));   // U+DFFF
  CHECK(sanitize_utf8("\xED\xA0\xBD\xED\xB8\x80") == repeat(fffd, 6)); // CESU-8 pair
  CHECK(sanitize_utf8("\xF4\x90\x80\x80") == repeat(fffd, 4)); // U+110000
  CHECK(sanitize_utf8("\xF5\x80\x80\x80") == repeat(fffd, 4));
  CHECK(sanitize_utf8("\xF8\x88\x80\x80\x80") == repeat(fffd, 5));
}

TEST_CASE("a truncated sequence is one U+FFFD, and what follows survives", "[utf8]") {
  CHECK(sanitize_utf8("\xE2\x82") == fffd);
  CHECK(sanitize_utf8("\xE2\x82x") == fffd + "x");
  CHECK(sanitize_utf8("\xF0\x9F\x98") == fffd);
  CHECK(sanitize_utf8("\xF0\x9F\x98\xC3\xA9") == fffd + "\xC3\xA9");
  CHECK(sanitize_utf8("\xC3") == fffd);
}

TEST_CASE("controls: replaced by default, kept on request", "[utf8]") {
  const std::string nul(1, '\0');
  CHECK(sanitize_utf8("a" + nul + "b") == "a" + fffd + "b");
  CHECK(sanitize_utf8("line\r\nnext\tx\x1b[31m\x7f") ==
        "line" + repeat(fffd, 2) + "next" + fffd + "x" + fffd + "[31m" + fffd);
  // C1 controls, properly encoded (U+0085 NEL, U+009B CSI, U+0080, U+009F).
  CHECK(sanitize_utf8("\xC2\x85\xC2\x9B\xC2\x80\xC2\x9F") == repeat(fffd, 4));
  CHECK(sanitize_utf8("\xC2\xA0") == "\xC2\xA0"); // U+00A0 is no control
  const std::string kept = "a" + nul + "\n\xC2\x85";
  CHECK(sanitize_utf8(kept, std::string::npos, utf8_controls::keep) == kept);
}

TEST_CASE("the cut falls on a character boundary", "[utf8]") {
  // A two-byte character straddling the limit is dropped whole.
  std::string in = std::string(511, 'a') + "\xC3\xA9" + "tail";
  auto out = sanitize_utf8(in, 512);
  CHECK(out == std::string(511, 'a'));
  CHECK(is_valid_utf8(out));
  // Exactly at the limit it stays.
  CHECK(sanitize_utf8(std::string(510, 'a') + "\xC3\xA9", 512) == std::string(510, 'a') + "\xC3\xA9");
  // A four-byte character at each offset across the limit.
  for (std::size_t pad = 505; pad <= 512; ++pad) {
    auto cut = sanitize_utf8(std::string(pad, 'a') + "\xF0\x9F\x98\x80", 512);
    INFO("pad " << pad);
    CHECK(cut.size() <= 512);
    CHECK(is_valid_utf8(cut));
    CHECK(cut.size() == (pad + 4 <= 512 ? pad + 4 : std::min<std::size_t>(pad, 512)));
  }
  // Replacements count with their three bytes: 512 bad bytes give 170 U+FFFD.
  auto bad = sanitize_utf8(std::string(512, '\xFF'), 512);
  CHECK(bad == repeat(fffd, 170));
  CHECK(sanitize_utf8("abc", 0).empty());
}

TEST_CASE("sanitizing is idempotent and always yields valid UTF-8", "[utf8]") {
  // Every two-byte input, and a run of pseudo-random longer ones.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      std::string in{static_cast<char>(a), static_cast<char>(b)};
      auto once = sanitize_utf8(in, std::string::npos, utf8_controls::keep);
      REQUIRE(is_valid_utf8(once));
      REQUIRE(sanitize_utf8(once, std::string::npos, utf8_controls::keep) == once);
      REQUIRE(is_valid_utf8(in) == (once == in));
    }
  }
  std::uint32_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    std::string in;
    for (int j = 0; j < 12; ++j) {
      x = x * 1664525u + 1013904223u;
      in.push_back(static_cast<char>(x >> 24));
    }
    auto out = sanitize_utf8(in, 10);
    REQUIRE(out.size() <= 10);
    REQUIRE(is_valid_utf8(out));
    REQUIRE(sanitize_utf8(out, 10) == out);
  }
}
