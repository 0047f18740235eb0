#include "util/random.hpp"

#include <sodium.h>

#include <stdexcept>

namespace solod {

namespace {

/// Initialises libsodium exactly once; a function-local static is thread-safe to initialise.
void ensure_sodium() {
  static const bool ready = [] {
    // sodium_init returns 1 when already initialised (by another component), which is fine.
    if (sodium_init() < 0) {
      throw std::runtime_error("libsodium initialisation failed");
    }
    return true;
  }();
  (void)ready;
}

} // namespace

void random_bytes(std::uint8_t* out, std::size_t n) {
  ensure_sodium();
  if (n == 0) {
    return;
  }
  randombytes_buf(out, n);
}

std::string random_hex(std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string bytes(n, '\0');
  random_bytes(reinterpret_cast<std::uint8_t*>(bytes.data()), n);
  std::string hex;
  hex.reserve(2 * n);
  for (unsigned char b : bytes) {
    hex.push_back(digits[b >> 4]);
    hex.push_back(digits[b & 0x0f]);
  }
  // The raw bytes are secret material (session ids); do not leave them in freed memory.
  sodium_memzero(bytes.data(), bytes.size());
  return hex;
}

} // namespace solod
