#include "cli/cli_audit.hpp"

#include "storage/login_log_repository.hpp"
#include "storage/session_repository.hpp"
#include "storage/write_transaction.hpp"
#include "util/clock.hpp"

#include <soci/soci.h>

namespace solod {

void audit_cli_action(soci::session& sql, const legal_basis_config& bases, const user_record& user,
                      const std::string& what) {
  audit_event ev{.timestamp = system_clock{}.now(),
                 .event_type = "admin_action",
                 .user_id = user.id,
                 .username = user.username,
                 .ip_address = "",
                 .user_agent = "solod-cli",
                 .status = "success",
                 .error_message = "cli: " + what,
                 .legal_basis = bases.of("admin_action")};
  write_transaction tx(sql);
  login_log_repository(sql).insert_batch({ev});
  tx.commit();
}

std::size_t end_sessions_of(soci::session& sql, const legal_basis_config& bases, const user_record& user) {
  auto now = system_clock{}.now();
  auto ended = session_repository(sql).end_live_of(user.id, "", "admin", now);
  std::vector<audit_event> events;
  for (const auto& s : ended) {
    events.push_back(audit_event{.timestamp = now,
                                 .event_type = "session_terminated",
                                 .user_id = user.id,
                                 .username = user.username,
                                 .session_id = s.id,
                                 .ip_address = "",
                                 .user_agent = "solod-cli",
                                 .status = "success",
                                 .error_message = "admin",
                                 .legal_basis = bases.of("session_terminated")});
  }
  if (!events.empty()) {
    write_transaction tx(sql);
    login_log_repository(sql).insert_batch(events);
    tx.commit();
  }
  return ended.size();
}

} // namespace solod
