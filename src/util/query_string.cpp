#include "util/query_string.hpp"

#include "util/hex.hpp"
#include "util/utf8.hpp"

namespace solod {

std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    if (!part.empty()) {
      auto eq = part.find('=');
      auto key = url_decode(part.substr(0, eq));
      auto value = url_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1));
      if (!key || !value) {
        return std::nullopt;
      }
      // A decoded escape can be any byte: what reaches filters, the database
      // and the audit detail is valid UTF-8 without controls.
      out.emplace(sanitize_utf8(*key), sanitize_utf8(*value));
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return out;
}

} // namespace solod
