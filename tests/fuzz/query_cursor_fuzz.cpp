/// @brief Fuzz target: URL query strings and the admin lists' pagination cursors.
///
/// Properties: url_decode never reads past its input and inverts a full
/// percent-encoding; a cursor that decodes re-encodes to one that decodes to
/// the same position; a position's own cursor decodes back to it.

#include "storage/page_position.hpp"
#include "util/query_string.hpp"
#include "util/time_format.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "query_cursor: %s\n", why.c_str());
  std::abort();
}

std::string percent_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    out += '%';
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

bool same(const solod::page_position& a, const solod::page_position& b) {
  return a.timestamp == b.timestamp && a.id == b.id && a.key == b.key;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto params = solod::parse_query(text);
  if (params) {
    for (const auto& [key, value] : *params) {
      // Decoding only shrinks, but each invalid byte becomes U+FFFD (3 bytes).
      if (key.size() > 3 * text.size() || value.size() > 3 * text.size()) {
        fail("a decoded parameter is longer than the sanitized query could be");
      }
    }
  }
  auto decoded = solod::url_decode(percent_encode(text));
  if (!decoded || *decoded != text) {
    fail("url_decode does not invert percent-encoding");
  }

  if (auto p = solod::page_position::decode(text)) {
    auto again = solod::page_position::decode(p->encode());
    if (!again || !same(*p, *again)) {
      fail("a decoded cursor does not survive encode + decode");
    }
  }
  // The input as the parts of a position: a key of any bytes must round-trip.
  solod::page_position pos;
  pos.timestamp = solod::format_iso8601(solod::time_point{std::chrono::seconds{1767322800}});
  pos.id = static_cast<std::int64_t>(size) * 7919 - 100000;
  pos.key = std::string(text.substr(0, 64));
  auto back = solod::page_position::decode(pos.encode());
  if (!back || !same(pos, *back)) {
    fail("a position's own cursor does not decode back to it");
  }
  return 0;
}
