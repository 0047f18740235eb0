#include "net/origin_policy.hpp"

#include <algorithm>
#include <cctype>

namespace solod {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// "https://Host:8443/" -> "host:8443"; "" when it is not an http(s) origin.
std::string authority_of(std::string_view origin) {
  auto o = lower(origin);
  std::string_view rest;
  if (o.rfind("https://", 0) == 0) {
    rest = std::string_view(o).substr(8);
  } else if (o.rfind("http://", 0) == 0) {
    rest = std::string_view(o).substr(7);
  } else {
    return "";
  }
  while (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.find('/') != std::string_view::npos || rest.empty()) {
    return "";
  }
  return std::string(rest);
}

} // namespace

bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed) {
  if (origin.empty()) {
    return true;
  }
  // The server's own pages (the Origin names the Host the request went to)
  // are always allowed: the list adds origins, it never locks out `/` and `/admin`.
  auto authority = authority_of(origin);
  if (!authority.empty() && authority == lower(host)) {
    return true;
  }
  if (!allowed.empty()) {
    auto o = lower(origin);
    while (!o.empty() && o.back() == '/') {
      o.pop_back();
    }
    for (const auto& a : allowed) {
      auto entry = lower(a);
      while (!entry.empty() && entry.back() == '/') {
        entry.pop_back();
      }
      if (entry == o) {
        return true;
      }
    }
  }
  return false;
}

} // namespace solod
