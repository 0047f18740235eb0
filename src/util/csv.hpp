#pragma once
/// @brief CSV per RFC 4180, with a guard against spreadsheet formula injection.

#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// One field: a leading `= + - @` TAB or CR gets a `'` in front (so a
/// spreadsheet shows it as text), then the field is quoted when it holds a
/// comma, quote, CR or LF, with quotes doubled.
std::string csv_field(std::string_view value);

/// One record: the fields joined by commas, ended by CRLF.
std::string csv_row(const std::vector<std::string>& fields);

} // namespace solod
