#pragma once
/// @brief Reading the users to import (SPEC §9) from a CSV file or a classic SQLite database.

#include "storage/user_attribute.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace solod {

/// A file that cannot be imported at all (unreadable, not CSV or SQLite, no
/// `username` column): exit 2, nothing is looked at further.
class import_file_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One user as the source file has it, as text; checked by the import.
struct import_row {
  std::size_t line = 0;      ///< CSV line, or the row's position in the SQLite table
  std::string source_id;     ///< SQLite: the row's id, to join its user_attributes
  std::string username;
  std::string password_hash; ///< a hash string, or the hex digest of the classic pair
  std::string salt;          ///< the classic pair's salt (empty: `password_hash` is a hash string)
  std::string full_name, email, phone;
  std::string is_admin, is_active, created_at, last_login; ///< empty: not given
  /// `attr.NAME` columns and the source's user_attributes: name, type, value as text.
  std::vector<user_attribute> attributes;
};

/// The rows of a file, and what a row's number means in messages.
struct import_source {
  std::vector<import_row> rows;
  std::string unit = "line"; ///< "line" (CSV) or "row" (SQLite)
  /// Problems found while reading that belong to one row (a CSV syntax
  /// error, an attribute of an unknown type): `unit N: message`.
  std::vector<std::string> problems;
};

/// Reads `path` as `format` ("csv", "sqlite", or "" to tell from the file's
/// first bytes). Throws import_file_error.
import_source read_import_source(const std::string& path, const std::string& format);

} // namespace solod
