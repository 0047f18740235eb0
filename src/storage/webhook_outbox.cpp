#include "storage/webhook_outbox.hpp"

#include "storage/cluster_news.hpp"
#include "util/random.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

#include <set>

namespace solod {

void write_webhook_events(soci::session& sql, const std::vector<webhook_event>& events) {
  if (events.empty()) {
    return;
  }
  if (is_postgresql(sql)) {
    std::set<long long> users;
    for (const auto& e : events) {
      if (e.user_id > 0) {
        users.insert(e.user_id);
      }
    }
    for (long long u : users) {
      long long id = 0;
      sql << "SELECT id FROM users WHERE id = :u FOR UPDATE", soci::use(u), soci::into(id);
    }
  }
  std::string msg_id, type, payload, created;
  long long user_id = 0;
  soci::statement st = (sql.prepare << "INSERT INTO webhook_events (msg_id, user_id, type, payload, "
                                       "created_at) VALUES (:m, :u, :t, :p, :c)",
                        soci::use(msg_id), soci::use(user_id), soci::use(type), soci::use(payload),
                        soci::use(created));
  for (const auto& e : events) {
    msg_id = "msg_" + random_hex(16);
    user_id = e.user_id;
    type = e.type;
    created = format_iso8601(e.at);
    payload = nlohmann::json{{"type", e.type}, {"timestamp", created}, {"data", e.data}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
    st.execute(true);
  }
}

webhook_event session_ended_event(std::int64_t user_id, const std::string& username,
                                  const std::string& session_id, const std::string& reason,
                                  time_point at, const nlohmann::json& by) {
  return {"session.ended", user_id, at,
          nlohmann::json{{"user_id", user_id},
                         {"username", username},
                         {"session_id", session_id},
                         {"reason", reason},
                         {"ended_at", format_iso8601(at)},
                         {"by", by}}};
}

} // namespace solod
