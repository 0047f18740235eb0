#pragma once
/// @brief Which browser Origins may open a WebSocket (SPEC `allowed_origins`).

#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// True when a request with `origin` (the Origin header, "" if absent) and
/// `host` (the Host header) may proceed. No Origin: allowed (not a browser).
/// The server's own origin (the Origin's host[:port] equals the Host header)
/// is always allowed. Any other Origin must equal an entry of `allowed`
/// (scheme://host[:port], case-insensitive, no trailing slash).
bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed);

} // namespace solod
