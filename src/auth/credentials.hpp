#pragma once
/// @brief The SPEC's rules for usernames and passwords.

#include <string_view>

namespace solod {

/// 3–32 of `A-Z a-z 0-9 _ . -`.
bool is_valid_username(std::string_view name);

/// 8–1024 bytes.
bool is_valid_password(std::string_view password);

} // namespace solod
