/// @brief Fuzz target: the CSV writer, round-tripped. Fields are written with
/// csv_row, read back with a minimal RFC 4180 reader, and must come back as
/// written, with only the formula guard's leading `'` added.
///
/// Input: fields separated by the byte 0x00 (so fields hold every other byte).

#include "util/csv.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& why, const std::string& row) {
  std::fprintf(stderr, "csv: %s\nrow: [%s]\n", why.c_str(), row.c_str());
  std::abort();
}

/// Reads one CRLF-terminated record; fails the run on anything RFC 4180 forbids.
std::vector<std::string> read_row(const std::string& row) {
  std::vector<std::string> fields(1);
  std::size_t i = 0;
  while (true) {
    auto& field = fields.back();
    if (i < row.size() && row[i] == '"') {
      for (++i;; ++i) {
        if (i >= row.size()) {
          fail("unterminated quoted field", row);
        }
        if (row[i] == '"') {
          if (i + 1 < row.size() && row[i + 1] == '"') {
            field.push_back('"');
            ++i;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(row[i]);
      }
    } else {
      while (i < row.size() && row[i] != ',' && row[i] != '\r' && row[i] != '\n') {
        if (row[i] == '"') {
          fail("quote inside an unquoted field", row);
        }
        field.push_back(row[i++]);
      }
    }
    if (i < row.size() && row[i] == ',') {
      fields.emplace_back();
      ++i;
      continue;
    }
    if (row.compare(i, std::string::npos, "\r\n") != 0) {
      fail("record does not end with exactly CRLF after its last field", row);
    }
    return fields;
  }
}

/// What a spreadsheet must show for `value`: the value, guarded when it could start a formula.
std::string guarded(const std::string& value) {
  if (!value.empty() && std::string("=+-@\t\r").find(value.front()) != std::string::npos) {
    return "'" + value;
  }
  return value;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> fields(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      fields.emplace_back();
    } else {
      fields.back().push_back(static_cast<char>(data[i]));
    }
  }
  auto row = solod::csv_row(fields);
  auto back = read_row(row);
  if (back.size() != fields.size()) {
    fail("field count changed: " + std::to_string(fields.size()) + " -> " +
           std::to_string(back.size()), row);
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (back[i] != guarded(fields[i])) {
      fail("field " + std::to_string(i) + " changed", row);
    }
    if (solod::csv_field(fields[i]) + "\r\n" != solod::csv_row({fields[i]})) {
      fail("csv_row of one field is not csv_field", row);
    }
  }
  return 0;
}
