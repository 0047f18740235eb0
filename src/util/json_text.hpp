#pragma once
/// @brief JSON to text that cannot throw on content.

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace solod {

/// `j` serialized compactly. Invalid UTF-8 in a string (which nlohmann's
/// default `dump()` answers with a type_error exception, one that once killed
/// a user actor mid-login) becomes U+FFFD instead. Every JSON solod writes
/// goes through here.
std::string to_json_text(const nlohmann::json& j);

} // namespace solod
