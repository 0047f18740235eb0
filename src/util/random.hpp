#pragma once
/// @brief The one CSPRNG of solod (libsodium's randombytes).

#include <cstddef>
#include <cstdint>
#include <string>

namespace solod {

/// Fills `out` with `n` bytes from the CSPRNG.
void random_bytes(std::uint8_t* out, std::size_t n);

/// `n` random bytes as lower-case hex (2n characters); 16 bytes give a 128-bit id.
std::string random_hex(std::size_t n);

} // namespace solod
