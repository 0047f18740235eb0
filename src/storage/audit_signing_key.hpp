#pragma once
/// @brief The Ed25519 key that signs audit checkpoints, kept in a file like the JWT secret.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace solod {

/// An Ed25519 key pair (libsodium). Copyable; the secret half never leaves it
/// except through its file.
class audit_signing_key {
public:
  /// Reads `path` (the 32-byte seed as 64 hex digits), creating it first from
  /// the CSPRNG (mode 0600, O_EXCL) when it does not exist. Throws
  /// config_error when it can be neither read nor created, or is malformed.
  static audit_signing_key load_or_create(const std::string& path);

  /// Reads `path` without creating it. Throws config_error.
  static audit_signing_key load(const std::string& path);

  /// The public key as 64 hex digits (what `solod audit pubkey` prints).
  const std::string& public_key() const { return public_hex_; }

  /// The detached signature of `message`, as 128 hex digits.
  std::string sign(std::string_view message) const;

private:
  std::array<std::uint8_t, 64> secret_{};
  std::string public_hex_;
};

/// Where the key is kept: `audit.signing_key_file`, or `data_dir/audit_signing.key`.
std::string signing_key_path(const std::string& signing_key_file, const std::string& data_dir);

/// True when `signature` (hex) is `public_key`'s (hex) Ed25519 signature of `message`.
bool signature_valid(std::string_view public_key, std::string_view message, std::string_view signature);

/// True when `text` is a public key: 64 hex digits.
bool is_public_key(std::string_view text);

} // namespace solod
