#pragma once
/// @brief Reading CSV per RFC 4180 (the writer is util/csv.hpp), with the line each record starts on.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// One record and the 1-based line it starts on (a quoted field may span lines).
struct csv_record {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

/// A parsed file: its records, or the first error and its line.
struct csv_document {
  std::vector<csv_record> records;
  std::string error;       ///< empty when the whole text parsed
  std::size_t error_line = 0;
};

/// Parses `text`: fields split by commas, records by LF or CRLF, `"` quoting
/// with `""` for a quote; a UTF-8 byte order mark is skipped and blank lines
/// are ignored. A quote inside an unquoted field, text after a closing quote
/// or an unterminated quote is an error.
csv_document parse_csv(std::string_view text);

} // namespace solod
