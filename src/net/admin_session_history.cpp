/// @file The session history of the admin API: `/api/admin/sessions` (JSON
/// pages, with each live session's connections) and `/api/admin/sessions.csv`.

#include "net/admin_router.hpp"

#include "net/admin_query.hpp"
#include "net/csv_stream.hpp"
#include "storage/cluster_repository.hpp"
#include "storage/db_pool.hpp"
#include "storage/record_views.hpp"
#include "storage/session_repository.hpp"
#include "util/json_text.hpp"
#include "util/query_string.hpp"
#include "util/time_format.hpp"

#include <nlohmann/json.hpp>

#include <variant>

namespace solod {

namespace {

using json = nlohmann::json;
using namespace admin_query;

/// Rows per CSV chunk: memory stays bounded whatever the export's size.
constexpr std::size_t csv_batch_rows = 2000;

/// A session listing's filter and position, or the 400 to answer.
struct session_query {
  session_filter filter;
  std::optional<page_position> after;
  std::size_t limit = 50;
};

std::variant<session_query, http_response> parse_session_query(const http_request& req) {
  auto p = parse_query(req.query);
  if (!p) {
    return bad_input("malformed query string");
  }
  session_query q;
  auto active = param(*p, "active");
  if (!active.empty() && active != "true" && active != "false") {
    return bad_input("active must be true or false");
  }
  q.filter.active_only = active == "true";
  q.filter.ended_only = active == "false";
  q.filter.username = param(*p, "user");
  q.filter.ip = param(*p, "ip");
  q.filter.end_reason = param(*p, "reason");
  if (!parse_time(*p, "from", q.filter.from) || !parse_time(*p, "to", q.filter.to)) {
    return bad_input("from and to must be ISO-8601 dates or times");
  }
  auto limit = parse_limit(*p, 50, 1000);
  if (!limit) {
    return bad_input("limit must be 1-1000");
  }
  q.limit = *limit;
  if (auto c = param(*p, "cursor"); !c.empty()) {
    q.after = page_position::decode(c);
    if (!q.after) {
      return bad_input("unknown cursor");
    }
  }
  return q;
}

page_position position_of(const session_record& s) {
  return page_position{format_iso8601(s.login_ts), 0, s.id};
}

} // namespace

void admin_router::list_sessions(soci::session& sql, const http_request& req,
                                 responder respond) const {
  auto parsed = parse_session_query(req);
  if (auto* err = std::get_if<http_response>(&parsed)) {
    respond(std::move(*err));
    return;
  }
  auto& q = std::get<session_query>(parsed);
  // One row more than the page: it says whether another page exists, so the
  // cursor is null on the last page even when that page is exactly full.
  auto rows = session_repository(sql).page(q.filter, q.limit + 1, q.after);
  const bool more = rows.size() > q.limit;
  rows.resize(std::min(rows.size(), q.limit));
  json list = json::array();
  for (const auto& s : rows) {
    // Live sessions: their connections on every node, and which node holds each.
    json connection_list = json::array();
    if (!s.logout_ts) {
      for (const auto& c : cluster_repository(sql).connections_of(s.id)) {
        connection_list.push_back(json{{"id", c.connection_id.substr(0, 8)},
                                       {"node", c.node_id},
                                       {"ip", c.ip_address},
                                       {"connected_at", format_iso8601(c.connected_at)}});
      }
    }
    auto j = session_history_json(s);
    j["connections"] = connection_list.size();
    j["connection_list"] = std::move(connection_list);
    list.push_back(std::move(j));
  }
  json next = more ? json(position_of(rows.back()).encode()) : json();
  respond(json_response(200, to_json_text(json{{"sessions", list}, {"next_cursor", next}})));
}

void admin_router::export_sessions_csv(const http_request& req, const user_record& admin,
                                       responder respond) const {
  auto parsed = parse_session_query(req);
  if (auto* err = std::get_if<http_response>(&parsed)) {
    respond(std::move(*err));
    return;
  }
  http_response r;
  r.content_type = "text/csv; charset=utf-8";
  r.with_header("Content-Disposition", "attachment; filename=\"solod-sessions.csv\"");
  r.with_header("Cache-Control", "no-store");
  if (req.method == "HEAD") {
    r.stream = [](std::shared_ptr<chunk_sink>) {};
    respond(std::move(r));
    return;
  }
  audit_action(req, admin, "export sessions csv" + (req.query.empty() ? "" : " ?" + req.query.substr(0, 200)));
  r.stream = csv_stream(*deps_.db, session_csv_header(),
                        [filter = std::get<session_query>(parsed).filter,
                         after = std::optional<page_position>()](soci::session& sql,
                                                                  std::string& chunk) mutable {
                          auto rows = session_repository(sql).page(filter, csv_batch_rows, after);
                          for (const auto& s : rows) {
                            chunk += session_csv(s);
                          }
                          if (rows.size() < csv_batch_rows) {
                            return false;
                          }
                          after = position_of(rows.back());
                          return true;
                        });
  respond(std::move(r));
}

} // namespace solod
