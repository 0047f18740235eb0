#pragma once
/// @brief The key under which a client address is rate-limited and capped.

#include <string>
#include <string_view>

namespace solod {

/// Maps a client address to the unit that limits count: an IPv4 address is
/// its own key (an IPv4-mapped IPv6 address counts as its IPv4 address); an
/// IPv6 address counts as its /64, written "PREFIX::/64", because one host or
/// one customer line is handed a whole /64 and could otherwise step round
/// every per-address limit. Text that is not an address is its own key.
std::string address_key(std::string_view address);

} // namespace solod
