#include "util/csv_reader.hpp"

namespace solod {

namespace {

/// The parser's position and the record it is building.
struct csv_cursor {
  std::string_view text;
  std::size_t pos = 0;
  std::size_t line = 1;

  bool at_end() const { return pos >= text.size(); }
  char peek() const { return text[pos]; }
  /// True at LF, or at CR LF (both consumed).
  bool take_newline() {
    if (text[pos] == '\n') {
      ++pos;
      ++line;
      return true;
    }
    if (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') {
      pos += 2;
      ++line;
      return true;
    }
    return false;
  }
};

/// Reads a quoted field (the cursor is on its opening quote); false on an error.
bool read_quoted(csv_cursor& c, std::string& field, std::string& error) {
  const std::size_t start_line = c.line;
  ++c.pos;
  for (;;) {
    if (c.at_end()) {
      error = "unterminated quoted field (opened on line " + std::to_string(start_line) + ")";
      return false;
    }
    char ch = c.peek();
    if (ch == '"') {
      if (c.pos + 1 < c.text.size() && c.text[c.pos + 1] == '"') {
        field.push_back('"');
        c.pos += 2;
        continue;
      }
      ++c.pos;
      if (!c.at_end() && c.peek() != ',' && c.peek() != '\n' &&
          !(c.peek() == '\r' && c.pos + 1 < c.text.size() && c.text[c.pos + 1] == '\n')) {
        error = "text after a closing quote";
        return false;
      }
      return true;
    }
    if (ch == '\n') {
      ++c.line;
    }
    field.push_back(ch);
    ++c.pos;
  }
}

} // namespace

csv_document parse_csv(std::string_view text) {
  csv_document doc;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    text.remove_prefix(3);
  }
  csv_cursor c{text};
  while (!c.at_end()) {
    if (c.take_newline()) {
      continue; // a blank line
    }
    csv_record record;
    record.line = c.line;
    for (;;) {
      std::string field;
      if (!c.at_end() && c.peek() == '"') {
        if (!read_quoted(c, field, doc.error)) {
          doc.error_line = c.line;
          return doc;
        }
      } else {
        while (!c.at_end() && c.peek() != ',' && c.peek() != '\n' &&
               !(c.peek() == '\r' && c.pos + 1 < text.size() && text[c.pos + 1] == '\n')) {
          if (c.peek() == '"') {
            doc.error = "a quote inside an unquoted field";
            doc.error_line = c.line;
            return doc;
          }
          field.push_back(c.peek());
          ++c.pos;
        }
      }
      record.fields.push_back(std::move(field));
      if (c.at_end() || c.take_newline()) {
        break;
      }
      ++c.pos; // the comma
    }
    doc.records.push_back(std::move(record));
  }
  return doc;
}

} // namespace solod
