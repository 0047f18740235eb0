#include "cli/subject_commands.hpp"

#include "cli/cli_audit.hpp"
#include "storage/record_views.hpp"
#include "storage/session_repository.hpp"
#include "storage/subject_export.hpp"
#include "storage/user_erasure.hpp"
#include "storage/user_repository.hpp"
#include "util/clock.hpp"
#include "util/json_text.hpp"
#include "util/time_format.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace solod {

namespace {

/// Rows read at once: memory stays bounded whatever the history's size.
constexpr std::size_t batch_rows = 2000;

/// Reads --from/--to; false (after saying why) when one is not ISO-8601.
bool read_time(const std::string& text, const char* flag, std::optional<time_point>& out,
               std::ostream& err) {
  if (text.empty()) {
    return true;
  }
  out = parse_iso8601(text);
  if (!out) {
    err << "solod: " << flag << ": '" << text << "' is not an ISO-8601 date or time\n";
  }
  return out.has_value();
}

int erase(const config& cfg, soci::session& sql, const user_record& user, std::ostream& out,
          std::ostream& err) {
  user_repository(sql).set_active(user.id, false);
  end_sessions_of(sql, cfg.legal_basis, user);
  auto outcome = user_erasure(sql).erase(user.id, system_clock{}.now());
  if (auto* refusal = std::get_if<erasure_refusal>(&outcome)) {
    err << "solod: " << user.username
        << (*refusal == erasure_refusal::already_erased ? " is already erased\n"
                                                        : ": a session began meanwhile; run it again\n");
    return 1;
  }
  const auto& done = std::get<erasure_result>(outcome);
  auto tombstone = user;
  tombstone.username = done.pseudonym;
  audit_cli_action(sql, cfg.legal_basis, tombstone,
                   "user erase id " + std::to_string(user.id) + " as " + done.pseudonym);
  out << to_json_text(nlohmann::json{{"erased",
                                      {{"user_id", user.id},
                                       {"pseudonym", done.pseudonym},
                                       {"sessions", done.sessions},
                                       {"audit_rows", done.audit_rows}}}})
      << "\n";
  return 0;
}

} // namespace

int session_export(soci::session& sql, const command_line& cmd, std::ostream& out, std::ostream& err) {
  session_filter filter;
  filter.username = cmd.user;
  filter.ip = cmd.ip;
  filter.end_reason = cmd.reason;
  filter.active_only = cmd.active == "true";
  filter.ended_only = cmd.active == "false";
  if (!read_time(cmd.from, "--from", filter.from, err) || !read_time(cmd.to, "--to", filter.to, err)) {
    return 2;
  }
  const bool json = cmd.format == "json";
  out << (json ? "{\"sessions\":[" : session_csv_header());
  session_repository sessions(sql);
  std::optional<page_position> after;
  bool first = true;
  while (true) {
    auto rows = sessions.page(filter, batch_rows, after);
    for (const auto& s : rows) {
      if (json) {
        out << (first ? "\n" : ",\n") << to_json_text(session_history_json(s));
      } else {
        out << session_csv(s);
      }
      first = false;
    }
    if (rows.size() < batch_rows) {
      break;
    }
    after = page_position{format_iso8601(rows.back().login_ts), 0, rows.back().id};
  }
  if (json) {
    out << (first ? "]}\n" : "\n]}\n");
  }
  out.flush();
  return 0;
}

int subject_command(const config& cfg, soci::session& sql, const command_line& cmd, std::ostream& out,
                    std::ostream& err) {
  auto user = user_repository(sql).find_by_username(cmd.name);
  if (!user) {
    err << "solod: no such user: " << cmd.name << "\n";
    return 1;
  }
  if (cmd.command == "user_erase") {
    return erase(cfg, sql, *user, out, err);
  }
  audit_cli_action(sql, cfg.legal_basis, *user, "user export");
  out << to_json_text(subject_document(sql, *user, cfg.legal_basis, system_clock{}.now())) << "\n";
  return 0;
}

} // namespace solod
