#include "cli/user_import.hpp"

#include "auth/credentials.hpp"
#include "auth/legacy_hash.hpp"
#include "cli/import_source.hpp"
#include "storage/attribute_repository.hpp"
#include "storage/login_log_repository.hpp"
#include "storage/user_repository.hpp"
#include "storage/write_transaction.hpp"
#include "util/clock.hpp"
#include "util/time_format.hpp"
#include "util/utf8.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <ostream>
#include <tuple>

namespace solod {

namespace {

/// A row that passed every check: the user to insert and its attributes.
struct checked_user {
  user_record user;
  hash_family family = hash_family::unknown;
  std::vector<user_attribute> attributes;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const char* space = " \t\r\n";
  auto first = s.find_first_not_of(space);
  if (first == std::string::npos) {
    return "";
  }
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

/// 1/0, true/false, t/f, yes/no (any case); nothing otherwise.
std::optional<bool> parse_flag(const std::string& text) {
  auto t = lower(trim(text));
  if (t == "1" || t == "true" || t == "t" || t == "yes" || t == "y") {
    return true;
  }
  if (t == "0" || t == "false" || t == "f" || t == "no" || t == "n") {
    return false;
  }
  return std::nullopt;
}

/// ISO-8601 as solod writes it, and the forms other systems export: a space
/// for the `T` (SQLite's CURRENT_TIMESTAMP, Python's str(datetime)), any
/// number of fraction digits, `Z` or `+00:00`. Only UTC is accepted.
std::optional<time_point> parse_timestamp(const std::string& text) {
  std::string t = trim(text);
  if (t.size() > 10 && t[10] == ' ') {
    t[10] = 'T';
  }
  for (const char* utc : {"+00:00", "+0000", "+00", "Z", "z"}) {
    const std::string suffix = utc;
    if (t.size() > 10 + suffix.size() && t.compare(t.size() - suffix.size(), suffix.size(), suffix) == 0) {
      t.resize(t.size() - suffix.size());
      break;
    }
  }
  if (auto dot = t.find('.'); dot != std::string::npos) {
    std::string digits = t.substr(dot + 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    digits.resize(3, '0');
    t = t.substr(0, dot + 1) + digits;
  }
  return parse_iso8601(t);
}

/// The row's stored hash: its hash string, or the classic pair in solod's form.
std::optional<std::string> stored_hash(const import_row& row, const command_line& cmd,
                                       std::string& problem) {
  const auto hash = trim(row.password_hash);
  if (hash.empty()) {
    problem = "no password hash";
    return std::nullopt;
  }
  if (row.salt.empty()) {
    auto inspection = inspect_hash(hash);
    if (!inspection.ok()) {
      problem = inspection.error;
      return std::nullopt;
    }
    return hash;
  }
  std::string salt = row.salt;
  if (cmd.salt_encoding == "hex") {
    std::string bytes;
    const auto s = trim(salt);
    if (s.size() % 2 != 0 || s.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      problem = "the salt is not hex (see --salt-encoding)";
      return std::nullopt;
    }
    for (std::size_t i = 0; i < s.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16)));
    }
    salt = bytes;
  }
  auto out = classic_pbkdf2_hash(salt, hash, *cmd.pbkdf2_iterations);
  if (!out) {
    problem = "the hash of a salt + hash pair must be 16-64 bytes of hex, with a salt";
  }
  return out;
}

/// The row's attributes (phone among them), checked.
bool check_attributes(const import_row& row, checked_user& user, std::string& problem) {
  auto all = row.attributes;
  if (!trim(row.phone).empty()) {
    all.push_back(user_attribute{"phone", "string", trim(row.phone)});
  }
  for (const auto& a : all) {
    if (!is_valid_attribute_name(a.name)) {
      problem = "attribute name '" + a.name.substr(0, 64) + "' is not 1-64 of A-Z a-z 0-9 _ . -";
      return false;
    }
    auto value = attribute_from_text(a.type, a.value);
    if (!value) {
      problem = "attribute '" + a.name + "' is not a valid " + a.type + " (or is over 4096 bytes)";
      return false;
    }
    user.attributes.push_back(user_attribute{a.name, a.type, *value});
  }
  return true;
}

/// Checks one row; nothing (and `problem` says why) when it is malformed.
std::optional<checked_user> check_row(const import_row& row, const command_line& cmd,
                                      time_point now, std::string& problem) {
  checked_user c;
  c.user.username = trim(row.username);
  if (!is_valid_username(c.user.username)) {
    // Never echoed: in a shifted row this column may hold a hash.
    problem = "invalid username (3-32 of A-Z a-z 0-9 _ . -)";
    return std::nullopt;
  }
  auto hash = stored_hash(row, cmd, problem);
  if (!hash) {
    return std::nullopt;
  }
  c.user.password_hash = *hash;
  c.family = inspect_hash(*hash).family;
  c.user.full_name = trim(row.full_name);
  c.user.email = trim(row.email);
  if (c.user.full_name.size() > 200 || c.user.email.size() > 254 ||
      !is_valid_utf8(c.user.full_name) || !is_valid_utf8(c.user.email)) {
    problem = "full_name (200 bytes) or email (254 bytes) too long, or not UTF-8";
    return std::nullopt;
  }
  for (auto [text, flag, fallback, name] :
       {std::tuple{&row.is_admin, &c.user.is_admin, false, "is_admin"},
        std::tuple{&row.is_active, &c.user.is_active, true, "is_active"}}) {
    if (trim(*text).empty()) {
      *flag = fallback;
    } else if (auto v = parse_flag(*text)) {
      *flag = *v;
    } else {
      problem = std::string(name) + " must be 1/0, true/false or yes/no";
      return std::nullopt;
    }
  }
  c.user.created_at = now;
  if (!trim(row.created_at).empty()) {
    auto t = parse_timestamp(row.created_at);
    if (!t) {
      problem = "created_at is not an ISO-8601 UTC time";
      return std::nullopt;
    }
    c.user.created_at = *t;
  }
  if (!trim(row.last_login).empty()) {
    c.user.last_login = parse_timestamp(row.last_login);
    if (!c.user.last_login) {
      problem = "last_login is not an ISO-8601 UTC time";
      return std::nullopt;
    }
  }
  if (!check_attributes(row, c, problem)) {
    return std::nullopt;
  }
  return c;
}

/// Checks every row; the problems are `unit N: message`, in file order.
std::vector<checked_user> check_rows(const import_source& source, const command_line& cmd,
                                     std::vector<std::string>& problems) {
  std::vector<checked_user> out;
  std::map<std::string, std::size_t> seen; // lower-case name -> line
  const auto now = system_clock{}.now();
  for (const auto& row : source.rows) {
    const auto where = source.unit + " " + std::to_string(row.line) + ": ";
    std::string problem;
    auto c = check_row(row, cmd, now, problem);
    if (!c) {
      problems.push_back(where + problem);
      continue;
    }
    auto [it, fresh] = seen.emplace(lower(c->user.username), row.line);
    if (!fresh) {
      problems.push_back(where + "username " + c->user.username + " already appears on " +
                         source.unit + " " + std::to_string(it->second));
      continue;
    }
    out.push_back(std::move(*c));
  }
  return out;
}

/// Inserts the users in one transaction (committed unless a dry run) and reports.
int import_users(soci::session& sql, const command_line& cmd, std::vector<checked_user>& users,
                 std::ostream& out) {
  write_transaction tx(sql);
  user_repository repo(sql);
  attribute_repository attributes(sql);
  std::vector<std::string> skipped;
  std::size_t imported = 0, attribute_count = 0;
  std::map<std::string, std::size_t> families;
  for (auto& c : users) {
    auto created = repo.insert(c.user);
    if (!created) {
      skipped.push_back(c.user.username);
      continue;
    }
    for (const auto& a : c.attributes) {
      attributes.put(created->id, a);
    }
    ++imported;
    attribute_count += c.attributes.size();
    ++families[hash_family_name(c.family)];
  }
  const std::string summary = std::to_string(imported) + " imported, " +
                              std::to_string(skipped.size()) + " skipped";
  login_log_repository(sql).insert_batch(
    {audit_event{.timestamp = system_clock{}.now(),
                 .event_type = "admin_action",
                 .user_agent = "solod-cli",
                 .status = "success",
                 .error_message = "cli: user import " + cmd.file.substr(0, 200) + ": " + summary}});
  if (!cmd.dry_run) {
    tx.commit();
  }
  out << (cmd.dry_run ? "dry run, nothing written: would import " : "imported ") << imported
      << " user" << (imported == 1 ? "" : "s") << " (" << attribute_count << " attribute"
      << (attribute_count == 1 ? "" : "s") << ")";
  if (!families.empty()) {
    out << "; hashes:";
    for (const auto& [name, n] : families) {
      out << " " << n << " " << name;
    }
  }
  out << "\n" << (cmd.dry_run ? "would skip " : "skipped ") << skipped.size() << " existing";
  for (std::size_t i = 0; i < skipped.size(); ++i) {
    out << (i == 0 ? ": " : ", ") << skipped[i];
  }
  out << "\n";
  return 0;
}

} // namespace

int run_user_import(soci::session& sql, const command_line& cmd, std::ostream& out,
                    std::ostream& err) {
  import_source source;
  try {
    source = read_import_source(cmd.file, cmd.format_given ? cmd.format : "");
  } catch (const import_file_error& e) {
    err << "solod: " << e.what() << "\n";
    return 2;
  }
  const bool has_pairs = std::any_of(source.rows.begin(), source.rows.end(),
                                     [](const import_row& r) { return !r.salt.empty(); });
  if (has_pairs && !cmd.pbkdf2_iterations) {
    err << "solod: rows with a salt (the classic salt + hash pair) need --pbkdf2-iterations N\n";
    return 2;
  }
  std::vector<std::string> problems = source.problems;
  auto users = check_rows(source, cmd, problems);
  if (!problems.empty()) {
    for (const auto& p : problems) {
      err << "solod: " << cmd.file << ": " << p << "\n";
    }
    err << "solod: " << problems.size() << " malformed " << source.unit
        << (problems.size() == 1 ? "" : "s") << ": nothing imported\n";
    return 1;
  }
  return import_users(sql, cmd, users, out);
}

} // namespace solod
