#include "util/csv.hpp"

namespace solod {

std::string csv_field(std::string_view value) {
  std::string text;
  if (!value.empty()) {
    char c = value.front();
    if (c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r') {
      text.push_back('\'');
    }
  }
  text.append(value);
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    return text;
  }
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') {
      quoted.push_back('"');
    }
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string row;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) {
      row.push_back(',');
    }
    row += csv_field(fields[i]);
  }
  row += "\r\n";
  return row;
}

} // namespace solod
