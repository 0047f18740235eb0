#include "storage/webhook_queue.hpp"

#include "storage/cluster_news.hpp"
#include "storage/write_transaction.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

#include <algorithm>

namespace solod {

namespace {

/// "hook" in ASCII: the advisory lock key of the delivering node.
constexpr long long delivery_lock_key = 0x686f6f6b;

bool wants(const webhook_endpoint& e, const std::string& type) {
  return e.events.empty() || std::find(e.events.begin(), e.events.end(), type) != e.events.end();
}

} // namespace

bool webhook_queue::try_lead() {
  if (!is_postgresql(sql_)) {
    return true;
  }
  int held = 0;
  sql_ << "SELECT CASE WHEN pg_try_advisory_lock(" + std::to_string(delivery_lock_key) + ") THEN 1 ELSE 0 END",
    soci::into(held);
  return held == 1;
}

std::size_t webhook_queue::fan_out(const std::vector<webhook_endpoint>& endpoints, time_point now,
                                   std::size_t limit) {
  // Looked at first without the write lock, which SQLite's logins share.
  long long waiting = 0;
  sql_ << "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_events WHERE fanned_out = 0 LIMIT 1) w",
    soci::into(waiting);
  if (waiting == 0) {
    return 0;
  }
  write_transaction tx(sql_);
  std::vector<std::pair<long long, std::pair<long long, std::string>>> events;
  {
    long long id = 0, user = 0;
    std::string type;
    soci::statement st = (sql_.prepare << "SELECT id, user_id, type FROM webhook_events "
                                          "WHERE fanned_out = 0 ORDER BY id LIMIT " + std::to_string(limit),
                          soci::into(id), soci::into(user), soci::into(type));
    st.execute(false);
    while (st.fetch()) {
      events.push_back({id, {user, type}});
    }
  }
  if (events.empty()) {
    return 0;
  }
  long long event_id = 0, user_id = 0;
  std::string url;
  const std::string at = format_iso8601(now);
  soci::statement insert = (sql_.prepare << "INSERT INTO webhook_deliveries (event_id, endpoint, user_id, "
                                            "next_attempt_at) VALUES (:e, :u, :user, :n)",
                            soci::use(event_id), soci::use(url), soci::use(user_id), soci::use(at));
  soci::statement mark = (sql_.prepare << "UPDATE webhook_events SET fanned_out = 1 WHERE id = :e",
                          soci::use(event_id));
  for (const auto& [id, what] : events) {
    event_id = id;
    user_id = what.first;
    std::vector<std::string> urls;
    for (const auto& e : endpoints) {
      // One delivery per URL, even if two entries name it.
      if (wants(e, what.second) && std::find(urls.begin(), urls.end(), e.url) == urls.end()) {
        urls.push_back(e.url);
      }
    }
    for (const auto& u : urls) {
      url = u;
      insert.execute(true);
    }
    mark.execute(true);
  }
  tx.commit();
  return events.size();
}

std::vector<webhook_delivery> webhook_queue::due(time_point now, std::size_t limit) {
  std::vector<webhook_delivery> out;
  webhook_delivery d;
  std::string created;
  const std::string at = format_iso8601(now);
  soci::statement st =
    (sql_.prepare << "SELECT d.event_id, d.endpoint, e.msg_id, e.type, e.payload, e.created_at, d.attempts "
                     "FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id "
                     "WHERE d.state = 'pending' AND d.next_attempt_at <= :now AND NOT EXISTS ("
                     "SELECT 1 FROM webhook_deliveries p WHERE p.endpoint = d.endpoint AND "
                     "p.user_id = d.user_id AND p.state = 'pending' AND p.event_id < d.event_id) "
                     "ORDER BY d.event_id LIMIT " + std::to_string(limit),
     soci::use(at), soci::into(d.event_id), soci::into(d.endpoint), soci::into(d.msg_id), soci::into(d.type),
     soci::into(d.payload), soci::into(created), soci::into(d.attempts));
  st.execute(false);
  while (st.fetch()) {
    d.created_at = parse_iso8601(created).value_or(now);
    out.push_back(d);
  }
  return out;
}

void webhook_queue::delivered(const webhook_delivery& d, time_point now) {
  finish(d, "delivered", now, "");
}

void webhook_queue::give_up(const webhook_delivery& d, time_point now, const std::string& error) {
  finish(d, "failed", now, error);
}

void webhook_queue::finish(const webhook_delivery& d, const char* state, time_point now,
                           const std::string& error) {
  const std::string s = state, at = format_iso8601(now);
  const int attempts = d.attempts + 1;
  sql_ << "UPDATE webhook_deliveries SET state = :s, attempts = :a, done_at = :t, last_error = :err "
          "WHERE event_id = :e AND endpoint = :u",
    soci::use(s), soci::use(attempts), soci::use(at), soci::use(error), soci::use(d.event_id),
    soci::use(d.endpoint);
}

void webhook_queue::retry(const webhook_delivery& d, time_point next, const std::string& error) {
  const std::string at = format_iso8601(next);
  const int attempts = d.attempts + 1;
  sql_ << "UPDATE webhook_deliveries SET attempts = :a, next_attempt_at = :n, last_error = :err "
          "WHERE event_id = :e AND endpoint = :u",
    soci::use(attempts), soci::use(at), soci::use(error), soci::use(d.event_id), soci::use(d.endpoint);
}

webhook_backlog webhook_queue::backlog() {
  webhook_backlog b;
  long long count = 0;
  std::string oldest;
  soci::indicator ind = soci::i_null;
  sql_ << "SELECT COUNT(*), MIN(e.created_at) FROM webhook_deliveries d "
          "JOIN webhook_events e ON e.id = d.event_id WHERE d.state = 'pending'",
    soci::into(count), soci::into(oldest, ind);
  b.pending = static_cast<std::size_t>(count);
  if (ind == soci::i_ok) {
    b.oldest = parse_iso8601(oldest);
  }
  // Events not fanned out yet wait too.
  std::string unfanned;
  soci::indicator ind2 = soci::i_null;
  sql_ << "SELECT MIN(created_at) FROM webhook_events WHERE fanned_out = 0", soci::into(unfanned, ind2);
  if (ind2 == soci::i_ok) {
    auto t = parse_iso8601(unfanned);
    if (t && (!b.oldest || *t < *b.oldest)) {
      b.oldest = t;
    }
  }
  return b;
}

std::size_t webhook_queue::prune(time_point before, std::size_t max_rows) {
  const std::string cutoff = format_iso8601(before);
  write_transaction tx(sql_);
  // Deliveries first: SQLite enforces ON DELETE CASCADE only with foreign keys on.
  const std::string done_events =
    "SELECT id FROM webhook_events e WHERE e.fanned_out = 1 AND e.created_at < :c AND NOT EXISTS ("
    "SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.state = 'pending') "
    "ORDER BY id LIMIT " + std::to_string(max_rows);
  sql_ << "DELETE FROM webhook_deliveries WHERE event_id IN (" + done_events + ")", soci::use(cutoff);
  soci::statement st = (sql_.prepare << "DELETE FROM webhook_events WHERE id IN (" + done_events + ")",
                        soci::use(cutoff));
  st.execute(true);
  const auto n = static_cast<std::size_t>(st.get_affected_rows());
  tx.commit();
  return n;
}

} // namespace solod
