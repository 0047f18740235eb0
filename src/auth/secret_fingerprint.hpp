#pragma once
/// @brief One JWT secret for every node: its fingerprint, kept in the database and checked at start.

#include <string>
#include <string_view>

namespace soci {
class session;
}

namespace solod {

struct database_url;

/// Hex HMAC-SHA256 of a fixed label keyed with `secret`: equal secrets give
/// equal fingerprints, and the fingerprint reveals nothing of the secret.
std::string jwt_secret_fingerprint(std::string_view secret);

/// Stores the fingerprint of `secret` in `cluster_settings` if no node did
/// yet; throws config_error naming the problem when the stored one differs
/// (a token signed by one node would be refused by another). Never stores or
/// logs the secret itself.
void check_jwt_secret_fingerprint(soci::session& sql, std::string_view secret);

/// The same on a connection of its own to `url` (at start, after the migrations);
/// throws database_error when the database cannot be reached.
void check_jwt_secret_fingerprint(const database_url& url, std::string_view secret);

} // namespace solod
