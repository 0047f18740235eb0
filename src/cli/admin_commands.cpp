#include "cli/admin_commands.hpp"

#include "auth/credentials.hpp"
#include "auth/password_hasher.hpp"
#include "cli/audit_commands.hpp"
#include "cli/cli_audit.hpp"
#include "cli/subject_commands.hpp"
#include "cli/user_import.hpp"
#include "storage/attribute_repository.hpp"
#include "storage/database.hpp"
#include "storage/login_log_repository.hpp"
#include "storage/migrations.hpp"
#include "storage/session_repository.hpp"
#include "storage/user_repository.hpp"
#include "storage/write_transaction.hpp"
#include "util/clock.hpp"
#include "util/csv.hpp"
#include "util/json_text.hpp"
#include "util/time_format.hpp"
#include "util/utf8.hpp"

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include <istream>
#include <ostream>

namespace solod {

namespace {

/// Reads the password from the first line of `in` (a trailing CR/LF is dropped).
std::optional<std::string> read_password(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) {
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

int user_add(const config& cfg, soci::session& sql, const command_line& cmd, std::istream& in, std::ostream& out,
             std::ostream& err) {
  if (!is_valid_username(cmd.name)) {
    err << "solod: invalid username '" << cmd.name << "' (3-32 of A-Z a-z 0-9 _ . -)\n";
    return 2;
  }
  auto password = read_password(in);
  if (!password || !is_valid_password(*password)) {
    err << "solod: the password on stdin must be 8-1024 bytes\n";
    return 2;
  }
  user_record u;
  u.username = cmd.name;
  u.full_name = cmd.full_name.value_or("");
  u.email = cmd.email.value_or("");
  u.is_admin = cmd.admin;
  u.created_at = system_clock{}.now();
  u.password_hash = password_hasher{}.hash(*password);
  auto created = user_repository(sql).insert(u);
  if (!created) {
    err << "solod: user '" << cmd.name << "' already exists\n";
    return 1;
  }
  audit_cli_action(sql, cfg.legal_basis, *created, cmd.admin ? "user add --admin" : "user add");
  out << "created user " << created->username << " (id " << created->id << ")"
      << (created->is_admin ? " as admin" : "") << "\n";
  return 0;
}

int user_change(const config& cfg, soci::session& sql, const command_line& cmd, std::istream& in, std::ostream& out,
                std::ostream& err) {
  user_repository users(sql);
  auto user = users.find_by_username(cmd.name);
  if (!user) {
    err << "solod: no user named '" << cmd.name << "'\n";
    return 1;
  }
  if (cmd.command == "user_passwd") {
    auto password = read_password(in);
    if (!password || !is_valid_password(*password)) {
      err << "solod: the password on stdin must be 8-1024 bytes\n";
      return 2;
    }
    users.set_password(user->id, password_hasher{}.hash(*password));
    audit_cli_action(sql, cfg.legal_basis, *user, "user passwd");
    out << "password of " << user->username << " changed\n";
    if (end_sessions_of(sql, cfg.legal_basis, *user) > 0) {
      out << "its live session was ended\n";
    }
  } else {
    bool enable = cmd.command == "user_enable";
    users.set_active(user->id, enable);
    audit_cli_action(sql, cfg.legal_basis, *user, enable ? "user enable" : "user disable");
    out << user->username << (enable ? " enabled" : " disabled") << "\n";
    if (!enable && end_sessions_of(sql, cfg.legal_basis, *user) > 0) {
      out << "its live session was ended\n";
    }
  }
  return 0;
}

/// `solod user attr NAME [KEY [VALUE]]`: lists (KEY, TAB, type, TAB, value
/// per line), shows one value, sets one (`--type`, else its type so far, else
/// string) or deletes one (`--delete`).
int user_attr(const config& cfg, soci::session& sql, const command_line& cmd, std::ostream& out, std::ostream& err) {
  auto user = user_repository(sql).find_by_username(cmd.name);
  if (!user) {
    err << "solod: no user named '" << cmd.name << "'\n";
    return 1;
  }
  attribute_repository attributes(sql);
  if (!cmd.attr_key) {
    for (const auto& a : attributes.list(user->id)) {
      out << a.name << "\t" << a.type << "\t" << a.value << "\n";
    }
    return 0;
  }
  const auto& key = *cmd.attr_key;
  auto current = attributes.find(user->id, key);
  if (cmd.attr_delete) {
    if (!attributes.remove(user->id, key)) {
      err << "solod: " << user->username << " has no attribute " << key << "\n";
      return 1;
    }
    audit_cli_action(sql, cfg.legal_basis, *user, "user attr " + key + " --delete");
    out << "deleted attribute " << key << " of " << user->username << "\n";
    return 0;
  }
  if (!cmd.attr_value) {
    if (!current) {
      err << "solod: " << user->username << " has no attribute " << key << "\n";
      return 1;
    }
    out << current->value << "\n";
    return 0;
  }
  const std::string type = !cmd.attr_type.empty() ? cmd.attr_type : current ? current->type : "string";
  auto value = attribute_from_text(type, *cmd.attr_value);
  if (!value) {
    err << "solod: the value is not a valid " << type << " (at most 4096 bytes of UTF-8)\n";
    return 2;
  }
  attributes.put(user->id, user_attribute{key, type, *value});
  audit_cli_action(sql, cfg.legal_basis, *user, "user attr " + key + " (" + type + ")");
  out << "set attribute " << key << " (" << type << ") of " << user->username << "\n";
  return 0;
}

int audit_export(soci::session& sql, const command_line& cmd, std::ostream& out,
                 std::ostream& err) {
  audit_filter filter;
  filter.username = cmd.user;
  if (!cmd.from.empty()) {
    filter.from = parse_iso8601(cmd.from);
    if (!filter.from) {
      err << "solod: --from: '" << cmd.from << "' is not an ISO-8601 date or time\n";
      return 2;
    }
  }
  if (!cmd.to.empty()) {
    filter.to = parse_iso8601(cmd.to);
    if (!filter.to) {
      err << "solod: --to: '" << cmd.to << "' is not an ISO-8601 date or time\n";
      return 2;
    }
  }
  const bool json = cmd.format == "json";
  if (json) {
    out << "[";
  } else {
    out << csv_row({"id", "timestamp", "event_type", "user_id", "username", "session_id",
                    "ip_address", "user_agent", "status", "error_message", "legal_basis"});
  }
  bool first = true;
  login_log_repository(sql).for_each(filter, [&](const audit_event& e) {
    auto ts = format_iso8601(e.timestamp);
    if (json) {
      nlohmann::json row{
        {"id", e.id},
        {"timestamp", ts},
        {"event_type", e.event_type},
        {"user_id", e.user_id ? nlohmann::json(*e.user_id) : nlohmann::json()},
        {"username", e.username},
        {"session_id", e.session_id.empty() ? nlohmann::json() : nlohmann::json(e.session_id)},
        {"ip_address", e.ip_address},
        {"user_agent", e.user_agent},
        {"status", e.status},
        {"error_message", e.error_message},
        {"legal_basis", e.legal_basis},
      };
      out << (first ? "\n" : ",\n") << to_json_text(row);
    } else {
      // Rows from before network input was sanitized may hold invalid UTF-8.
      out << sanitize_utf8(csv_row({std::to_string(e.id), ts, e.event_type,
                                    e.user_id ? std::to_string(*e.user_id) : "", e.username,
                                    e.session_id, e.ip_address, e.user_agent, e.status,
                                    e.error_message, e.legal_basis}),
                           std::string::npos, utf8_controls::keep);
    }
    first = false;
  });
  if (json) {
    out << (first ? "]\n" : "\n]\n");
  }
  out.flush();
  return 0;
}

} // namespace

int run_admin_command(const config& cfg, const environment& env, const command_line& cmd,
                      std::istream& in, std::ostream& out, std::ostream& err) {
  if (is_offline_audit_command(cmd)) {
    return run_offline_audit_command(cfg, cmd, out, err);
  }
  try {
    auto url = database_url::from_config(cfg.database, env);
    auto sql = open_database(url);
    int version = migrate(*sql, url.dialect);
    if (cmd.command == "migrate") {
      out << "schema at version " << version << "\n";
      return 0;
    }
    if (cmd.command == "user_add") {
      return user_add(cfg, *sql, cmd, in, out, err);
    }
    if (cmd.command == "user_passwd" || cmd.command == "user_disable" ||
        cmd.command == "user_enable") {
      return user_change(cfg, *sql, cmd, in, out, err);
    }
    if (cmd.command == "user_import") {
      return run_user_import(*sql, cmd, out, err);
    }
    if (cmd.command == "user_attr") {
      return user_attr(cfg, *sql, cmd, out, err);
    }
    if (cmd.command == "audit_export") {
      return cmd.with_proof ? audit_export_with_proof(*sql, cfg, cmd, out, err) : audit_export(*sql, cmd, out, err);
    }
    if (cmd.command == "audit_verify") {
      return audit_verify(*sql, cfg, cmd, out, err);
    }
    if (cmd.command == "session_export") {
      return session_export(*sql, cmd, out, err);
    }
    if (cmd.command == "user_export" || cmd.command == "user_erase") {
      return subject_command(cfg, *sql, cmd, out, err);
    }
    err << "solod: unknown command " << cmd.command << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "solod: " << e.what() << "\n";
    return 1;
  }
}

} // namespace solod
