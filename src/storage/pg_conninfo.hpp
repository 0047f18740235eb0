#pragma once
/// @brief PostgreSQL connection settings: a libpq URI or key/value string read into
/// keyword/value pairs, and written back in the one form SOCI 4.0 passes on intact.

#include <string>
#include <utility>
#include <vector>

namespace solod {

/// libpq connection keywords and values, in order (a later duplicate wins, as in libpq).
struct pg_conninfo {
  std::vector<std::pair<std::string, std::string>> params;

  /// Reads what follows `postgresql://` or `postgres://`: either a URI body
  /// (`[USER[:PASSWORD]@][HOST[:PORT][,...]][/DBNAME][?NAME=VALUE&...]`, IPv6
  /// hosts in brackets, every part percent-decoded) or libpq key/value text
  /// (`host=... port=... dbname='my db'`). Throws database_error on anything
  /// libpq would not read the same way; the message never repeats a password.
  static pg_conninfo parse(const std::string& body);

  /// The value of `keyword` (the last one given), or empty.
  std::string get(const std::string& keyword) const;

  /// Removes every `keyword` and appends one with `value`.
  void set(const std::string& keyword, const std::string& value);

  /// Removes every `keyword`.
  void erase(const std::string& keyword);

  /// The key/value string: every value single-quoted, `\` and `'` escaped.
  /// SOCI 4.0 splits its connection string at whitespace before libpq sees it,
  /// so a value holding whitespace throws database_error naming the keyword
  /// (the password never reaches here: see open_database).
  std::string to_string() const;
};

/// `value` as a single-quoted libpq value (`\` and `'` escaped with a backslash).
std::string pg_quote(const std::string& value);

} // namespace solod
