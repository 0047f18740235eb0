#include "storage/cluster_news.hpp"

#include "util/json_text.hpp"
#include "util/node_id.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

namespace solod {

void news_batch::session_started(const session_record& s, const std::string& old_id) {
  events_.push_back({{"k", "start"},
                     {"u", s.user_id},
                     {"s", s.id},
                     {"n", s.username},
                     {"ip", s.ip_address},
                     {"ua", s.user_agent},
                     {"at", format_iso8601(s.login_ts)},
                     {"exp", format_iso8601(s.expires_at)},
                     {"old", old_id}});
}

void news_batch::session_ended(std::int64_t user_id, const std::string& session_id,
                               const std::string& reason) {
  events_.push_back({{"k", "end"}, {"u", user_id}, {"s", session_id}, {"r", reason}});
}

bool is_postgresql(soci::session& sql) {
  return sql.get_backend_name() == "postgresql";
}

void news_batch::publish(soci::session& sql) const {
  if (events_.empty()) {
    return;
  }
  const std::string& origin = this_node_id();
  std::string payload = to_json_text(nlohmann::json{{"o", origin}, {"e", events_}});
  std::string now = format_iso8601(std::chrono::system_clock::now());
  const std::string channel = news_channel;
  if (!is_postgresql(sql)) {
    sql << "INSERT INTO cluster_news (created_at, origin, payload) VALUES (:t, :o, :p)",
      soci::use(now), soci::use(origin), soci::use(payload);
    return;
  }
  if (payload.size() > news_inline_max) {
    long long id = 0;
    sql << "INSERT INTO cluster_news (created_at, origin, payload) VALUES (:t, :o, :p) RETURNING id",
      soci::use(now), soci::use(origin), soci::use(payload), soci::into(id);
    payload = to_json_text(nlohmann::json{{"o", origin}, {"ref", id}});
  }
  int ignored = 0;
  sql << "SELECT 1 FROM (SELECT pg_notify(:c, :p)) AS n", soci::use(channel), soci::use(payload),
    soci::into(ignored);
}

std::optional<news_item> parse_news(const std::string& payload) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object() || !j.contains("o") || !j["o"].is_string()) {
    return std::nullopt;
  }
  news_item item;
  item.origin = j["o"].get<std::string>();
  if (j.contains("ref") && j["ref"].is_number_integer()) {
    item.ref = j["ref"].get<long long>();
    item.events = nlohmann::json::array();
    return item;
  }
  if (!j.contains("e") || !j["e"].is_array()) {
    return std::nullopt;
  }
  item.events = std::move(j["e"]);
  return item;
}

std::optional<news_item> read_news_row(soci::session& sql, long long id) {
  std::string payload;
  sql << "SELECT payload FROM cluster_news WHERE id = :id", soci::use(id), soci::into(payload);
  if (!sql.got_data()) {
    return std::nullopt;
  }
  auto item = parse_news(payload);
  if (item && item->ref) {
    return std::nullopt; // a row never refers to another
  }
  return item;
}

std::size_t prune_news(soci::session& sql, time_point before) {
  std::string ts = format_iso8601(before);
  soci::statement st = (sql.prepare << "DELETE FROM cluster_news WHERE created_at < :t", soci::use(ts));
  st.execute(true);
  return static_cast<std::size_t>(st.get_affected_rows());
}

} // namespace solod
