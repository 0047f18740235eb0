#pragma once
/// @brief Reading the query strings of the admin API: limits, times, cursors,
/// and the answers to input that does not read.

#include "net/http_message.hpp"
#include "util/clock.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace solod::admin_query {

using params = std::map<std::string, std::string>;

/// 503 `unavailable` with Retry-After: the database pool is full or down.
http_response unavailable();

/// 400 `invalid_input` saying what is wrong.
http_response bad_input(const std::string& message);

/// A whole decimal integer; nothing for anything else.
std::optional<std::int64_t> parse_int(std::string_view text);

/// The query's limit (1..max, default `fallback`); nothing when malformed.
std::optional<std::size_t> parse_limit(const params& p, std::size_t fallback, std::size_t max);

/// Reads a time filter; false when present but not ISO-8601.
bool parse_time(const params& p, const char* key, std::optional<time_point>& out);

/// The value of `key`, empty when absent.
std::string param(const params& p, const char* key);

} // namespace solod::admin_query
