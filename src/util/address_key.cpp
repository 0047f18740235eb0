#include "util/address_key.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace solod {

std::string address_key(std::string_view address) {
  std::string text(address);
  // A scope ("fe80::1%eth0") is not part of what inet_pton reads.
  auto percent = text.find('%');
  std::string bare = text.substr(0, percent);
  std::array<unsigned char, 16> v6{};
  if (bare.find(':') == std::string::npos || inet_pton(AF_INET6, bare.c_str(), v6.data()) != 1) {
    return text; // IPv4, or not an address: itself
  }
  static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(v6.data(), v4_mapped, sizeof v4_mapped) == 0) {
    inet_ntop(AF_INET, v6.data() + 12, out, sizeof out);
    return out;
  }
  std::fill(v6.begin() + 8, v6.end(), 0);
  inet_ntop(AF_INET6, v6.data(), out, sizeof out);
  return std::string(out) + "/64";
}

} // namespace solod
