#include "cli/import_source.hpp"

#include "util/csv_reader.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

namespace solod {

namespace {

constexpr std::string_view sqlite_magic{"SQLite format 3\0", 16};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw import_file_error("cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw import_file_error("cannot read " + path);
  }
  return text.str();
}

/// The type names other systems use, as solod's attribute types.
std::optional<std::string> attribute_type_of(std::string source) {
  source = lower(source);
  if (source.empty() || source == "string" || source == "str" || source == "text") {
    return "string";
  }
  if (source == "integer" || source == "int") {
    return "integer";
  }
  if (source == "float" || source == "number" || source == "double" || source == "real") {
    return "float";
  }
  if (source == "boolean" || source == "bool") {
    return "boolean";
  }
  if (source == "json" || source == "object" || source == "array" || source == "dict" ||
      source == "list") {
    return "json";
  }
  return std::nullopt;
}

// -- CSV ---------------------------------------------------------------------------------

/// Where a known column goes in an import_row.
std::string* csv_target(import_row& row, const std::string& column) {
  if (column == "username") return &row.username;
  if (column == "password_hash") return &row.password_hash;
  if (column == "salt") return &row.salt;
  if (column == "full_name") return &row.full_name;
  if (column == "email") return &row.email;
  if (column == "phone") return &row.phone;
  if (column == "is_admin") return &row.is_admin;
  if (column == "is_active") return &row.is_active;
  if (column == "created_at") return &row.created_at;
  if (column == "last_login") return &row.last_login;
  return nullptr;
}

import_source read_csv(const std::string& path) {
  auto doc = parse_csv(read_file(path));
  import_source out;
  out.unit = "line";
  if (doc.records.empty()) {
    if (!doc.error.empty()) {
      throw import_file_error(path + ": line " + std::to_string(doc.error_line) + ": " + doc.error);
    }
    throw import_file_error(path + ": no header row (username,password_hash,...)");
  }
  std::vector<std::string> header;
  for (const auto& name : doc.records.front().fields) {
    // Column names compare in any case; attribute names keep theirs.
    auto key = lower(name);
    header.push_back(key.rfind("attr.", 0) == 0 ? "attr." + name.substr(5) : key);
  }
  import_row probe;
  for (const auto& column : header) {
    bool attr = column.rfind("attr.", 0) == 0 && is_valid_attribute_name(column.substr(5));
    if (!attr && csv_target(probe, column) == nullptr) {
      throw import_file_error(path + ": unknown column '" + column.substr(0, 64) +
                              "' (username, password_hash, salt, full_name, email, phone, "
                              "is_admin, is_active, created_at, last_login, attr.NAME)");
    }
    if (std::count(header.begin(), header.end(), column) > 1) {
      throw import_file_error(path + ": column '" + column + "' appears twice");
    }
  }
  for (const char* needed : {"username", "password_hash"}) {
    if (std::find(header.begin(), header.end(), needed) == header.end()) {
      throw import_file_error(path + ": the header has no " + needed + " column");
    }
  }
  for (std::size_t i = 1; i < doc.records.size(); ++i) {
    const auto& record = doc.records[i];
    if (record.fields.size() != header.size()) {
      out.problems.push_back("line " + std::to_string(record.line) + ": " +
                             std::to_string(record.fields.size()) + " fields, the header has " +
                             std::to_string(header.size()));
      continue;
    }
    import_row row;
    row.line = record.line;
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (auto* target = csv_target(row, header[c])) {
        *target = record.fields[c];
      } else if (!record.fields[c].empty()) {
        // A CSV cell has no type: its attributes are strings.
        row.attributes.push_back(user_attribute{header[c].substr(5), "string", record.fields[c]});
      }
    }
    out.rows.push_back(std::move(row));
  }
  if (!doc.error.empty()) {
    out.problems.push_back("line " + std::to_string(doc.error_line) + ": " + doc.error);
  }
  return out;
}

// -- SQLite ------------------------------------------------------------------------------

struct db_closer {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct stmt_closer {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using db_handle = std::unique_ptr<sqlite3, db_closer>;
using stmt_handle = std::unique_ptr<sqlite3_stmt, stmt_closer>;

stmt_handle prepare(sqlite3* db, const std::string& sql, const std::string& path) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string why = sqlite3_errmsg(db);
    sqlite3_finalize(st);
    throw import_file_error(path + ": " + why);
  }
  return stmt_handle(st);
}

/// The column names of `table` (lower case); empty when there is no such table.
std::vector<std::string> columns_of(sqlite3* db, const std::string& table, const std::string& path) {
  auto st = prepare(db, "PRAGMA table_info(" + table + ")", path);
  std::vector<std::string> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    const auto* name = sqlite3_column_text(st.get(), 1);
    out.push_back(lower(name ? reinterpret_cast<const char*>(name) : ""));
  }
  return out;
}

/// The first of `names` that is a column, or "".
std::string pick(const std::vector<std::string>& columns, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (std::find(columns.begin(), columns.end(), n) != columns.end()) {
      return n;
    }
  }
  return "";
}

/// Column `i` as text; NULL is "".
std::string text_at(sqlite3_stmt* st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) {
    return "";
  }
  const auto* p = sqlite3_column_text(st, i);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st, i)) : "";
}

/// The source's user_attributes, by the source's user id.
void read_sqlite_attributes(sqlite3* db, const std::string& path,
                            std::map<std::string, import_row*>& by_id, import_source& out) {
  auto columns = columns_of(db, "user_attributes", path);
  if (columns.empty()) {
    return;
  }
  auto name = pick(columns, {"attribute_name", "name", "key"});
  auto value = pick(columns, {"attribute_value", "value"});
  auto type = pick(columns, {"attribute_type", "type"});
  if (name.empty() || value.empty() || pick(columns, {"user_id"}).empty()) {
    throw import_file_error(path + ": user_attributes needs user_id, attribute_name and "
                                   "attribute_value columns");
  }
  auto st = prepare(db, "SELECT user_id, " + name + ", " + value + ", " +
                          (type.empty() ? std::string("''") : type) + " FROM user_attributes",
                    path);
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    auto it = by_id.find(text_at(st.get(), 0));
    if (it == by_id.end()) {
      continue; // an attribute of no user: the source's own inconsistency
    }
    auto t = attribute_type_of(text_at(st.get(), 3));
    auto attr_name = text_at(st.get(), 1);
    if (!t) {
      out.problems.push_back("row " + std::to_string(it->second->line) + ": attribute '" +
                             attr_name.substr(0, 64) + "' has an unknown type");
      continue;
    }
    it->second->attributes.push_back(user_attribute{attr_name, *t, text_at(st.get(), 2)});
  }
}

import_source read_sqlite(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  db_handle db(raw);
  if (rc != SQLITE_OK) {
    throw import_file_error("cannot open " + path + " as SQLite: " +
                            (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  auto columns = columns_of(db.get(), "users", path);
  if (columns.empty()) {
    throw import_file_error(path + ": no users table");
  }
  auto hash = pick(columns, {"password_hash", "hash", "password"});
  if (pick(columns, {"username"}).empty() || hash.empty()) {
    throw import_file_error(path + ": the users table needs username and password_hash "
                                   "(or hash, or password) columns");
  }
  // Optional columns are read as '' when absent.
  auto col = [&](const char* name) {
    return pick(columns, {name}).empty() ? std::string("''") : std::string(name);
  };
  const std::string id = pick(columns, {"id"}).empty() ? "NULL" : "id";
  auto st = prepare(db.get(),
                    "SELECT " + id + ", username, " + hash + ", " + col("salt") + ", " +
                      col("full_name") + ", " + col("email") + ", " + col("phone") + ", " +
                      col("is_admin") + ", " + col("is_active") + ", " + col("created_at") +
                      ", " + col("last_login") + " FROM users" +
                      (id == "NULL" ? "" : " ORDER BY id"),
                    path);
  import_source out;
  out.unit = "row";
  std::size_t n = 0;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    import_row row;
    row.line = ++n;
    row.username = text_at(st.get(), 1);
    row.password_hash = text_at(st.get(), 2);
    row.salt = text_at(st.get(), 3);
    row.full_name = text_at(st.get(), 4);
    row.email = text_at(st.get(), 5);
    row.phone = text_at(st.get(), 6);
    row.is_admin = text_at(st.get(), 7);
    row.is_active = text_at(st.get(), 8);
    row.created_at = text_at(st.get(), 9);
    row.last_login = text_at(st.get(), 10);
    row.source_id = text_at(st.get(), 0);
    out.rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    throw import_file_error(path + ": " + sqlite3_errmsg(db.get()));
  }
  if (id != "NULL") {
    // The rows vector no longer moves: pointers into it stay valid.
    std::map<std::string, import_row*> by_id;
    for (auto& row : out.rows) {
      by_id[row.source_id] = &row;
    }
    read_sqlite_attributes(db.get(), path, by_id, out);
  }
  return out;
}

} // namespace

import_source read_import_source(const std::string& path, const std::string& format) {
  std::string kind = format;
  if (kind.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw import_file_error("cannot read " + path);
    }
    char head[16] = {};
    in.read(head, sizeof head);
    kind = std::string_view(head, static_cast<std::size_t>(in.gcount())) == sqlite_magic ? "sqlite" : "csv";
  }
  return kind == "sqlite" ? read_sqlite(path) : read_csv(path);
}

} // namespace solod
