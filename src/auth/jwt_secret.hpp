#pragma once
/// @brief Where the token-signing key comes from: env, file, or generated once.

#include "config/config.hpp"

#include <string>

namespace solod {

/// The HS256 key: `SOLOD_JWT_SECRET` if set, else the contents of
/// `auth.jwt_secret_file` (trailing newlines dropped), else `data_dir/jwt.secret`,
/// generated on first use from 32 CSPRNG bytes (hex, mode 0600). Throws
/// config_error for an unreadable file or a key under 32 bytes.
std::string load_jwt_secret(const auth_config& cfg, const environment& env,
                            const std::string& data_dir);

} // namespace solod
