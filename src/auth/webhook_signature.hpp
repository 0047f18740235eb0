#pragma once
/// @brief Standard Webhooks signatures: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`.

#include <optional>
#include <string>
#include <string_view>

namespace solod {

/// The signing key of a Standard Webhooks secret (`whsec_` + base64 of 24 to
/// 64 bytes); nothing when it is not one.
std::optional<std::string> decode_webhook_secret(std::string_view secret);

/// The `webhook-signature` header value for one delivery.
std::string sign_webhook(std::string_view key, std::string_view msg_id, long long timestamp,
                         std::string_view body);

} // namespace solod
