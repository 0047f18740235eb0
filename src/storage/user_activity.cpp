#include "storage/user_activity.hpp"

#include "storage/login_log_repository.hpp"
#include "storage/session_repository.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <limits>

namespace solod {

namespace {

/// A "page" of every session of one account.
constexpr std::size_t all_rows = std::numeric_limits<std::int32_t>::max();

} // namespace

const std::vector<std::string>& activity_event_types() {
  static const std::vector<std::string> types = {
    "login_success",      "login_failure",   "logout",         "session_superseded",
    "session_terminated", "session_expired", "account_locked",
  };
  return types;
}

std::map<std::int64_t, login_summary> user_activity::summaries(const std::vector<std::int64_t>& ids,
                                                               time_point now) {
  std::map<std::int64_t, login_summary> out;
  const std::string since = format_iso8601(now - std::chrono::hours{24});
  for (auto id : ids) {
    long long user = id, logins = 0, failures = 0;
    // Both walk the (user_id, timestamp) index: one account's rows only.
    sql_ << "SELECT COUNT(*) FROM login_logs WHERE user_id = :u AND event_type = 'login_success'",
      soci::use(user), soci::into(logins);
    sql_ << "SELECT COUNT(*) FROM login_logs WHERE user_id = :u AND timestamp >= :t "
            "AND event_type = 'login_failure'",
      soci::use(user), soci::use(since), soci::into(failures);
    out[id] = login_summary{logins, failures};
  }
  return out;
}

std::vector<activity_entry> user_activity::recent(std::int64_t user_id, std::size_t limit) {
  audit_filter filter;
  filter.user_id = user_id;
  filter.events = activity_event_types();
  std::vector<activity_entry> out;
  session_repository sessions(sql_);
  for (auto& e : login_log_repository(sql_).page(filter, limit, std::nullopt)) {
    activity_entry entry{std::move(e), std::nullopt};
    if (entry.event.event_type == "login_success" && !entry.event.session_id.empty()) {
      entry.session = sessions.find(entry.event.session_id);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<audit_event> user_activity::audit_rows(std::int64_t user_id) {
  audit_filter filter;
  filter.user_id = user_id;
  std::vector<audit_event> rows;
  login_log_repository(sql_).for_each(filter, [&](const audit_event& e) { rows.push_back(e); });
  std::reverse(rows.begin(), rows.end()); // for_each goes oldest first
  return rows;
}

std::vector<session_record> user_activity::sessions(std::int64_t user_id) {
  session_filter filter;
  filter.user_id = user_id;
  return session_repository(sql_).page(filter, all_rows, std::nullopt);
}

} // namespace solod
