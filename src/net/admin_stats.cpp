/// @file `/api/admin/stats`: the dashboard's counts per UTC hour or day.

#include "net/admin_router.hpp"

#include "net/admin_query.hpp"
#include "storage/audit_stats.hpp"
#include "util/json_text.hpp"
#include "util/query_string.hpp"
#include "util/time_format.hpp"

#include <nlohmann/json.hpp>

namespace solod {

namespace {

using json = nlohmann::json;
using namespace admin_query;
using std::chrono::days;
using std::chrono::hours;

/// Longest range and most buckets one request may ask for: each hour not
/// cached yet costs a few indexed queries.
constexpr days max_range{400};
constexpr std::int64_t max_buckets = 2000;

json counts_json(const std::map<std::string, std::int64_t>& counts) {
  json out = json::object();
  for (const auto& [name, n] : counts) {
    if (n != 0) {
      out[name] = n;
    }
  }
  return out;
}

json bucket_json(const stats_slice& b) {
  auto count = [&](const char* type) {
    auto it = b.counts.events.find(type);
    return it == b.counts.events.end() ? std::int64_t{0} : it->second;
  };
  return {
    {"start", format_iso8601(b.start)},
    {"end", format_iso8601(b.end)},
    {"events", counts_json(b.counts.events)},
    {"failures", counts_json(b.counts.failures)},
    {"kicks",
     {{"superseded", count("session_superseded")},
      {"terminated", count("session_terminated")},
      {"expired", count("session_expired")}}},
    {"new_sessions", b.counts.new_sessions},
    {"peak_live", b.counts.peak_live},
  };
}

json top_json(const std::vector<failure_count>& top, const char* key) {
  json out = json::array();
  for (const auto& [name, n] : top) {
    out.push_back(json{{key, name}, {"failures", n}});
  }
  return out;
}

} // namespace

void admin_router::stats(soci::session& sql, const http_request& req, responder respond) const {
  auto p = parse_query(req.query);
  if (!p) {
    respond(bad_input("malformed query string"));
    return;
  }
  std::optional<time_point> from, to;
  if (!parse_time(*p, "from", from) || !parse_time(*p, "to", to)) {
    respond(bad_input("from and to must be ISO-8601 dates or times"));
    return;
  }
  const auto now = deps_.clk->now();
  to = to.value_or(now);
  from = from.value_or(*to - hours{24});
  if (*from >= *to || *to - *from > max_range) {
    respond(bad_input("from must be before to, at most 400 days apart"));
    return;
  }
  // The future holds nothing yet, and hours not over are never cached: each
  // would be counted again on every request.
  if (*to > now + hours{24}) {
    respond(bad_input("to is at most a day after now"));
    return;
  }
  auto bucket_name = param(*p, "bucket");
  if (bucket_name.empty()) {
    bucket_name = *to - *from <= hours{72} ? "hour" : "day";
  }
  if (bucket_name != "hour" && bucket_name != "day") {
    respond(bad_input("bucket must be hour or day"));
    return;
  }
  const auto bucket = bucket_name == "hour" ? stats_bucket::hour : stats_bucket::day;
  const hours width = bucket == stats_bucket::hour ? hours{1} : hours{24};
  const time_point first = bucket == stats_bucket::hour ? time_point(std::chrono::floor<hours>(*from))
                                                        : time_point(std::chrono::floor<days>(*from));
  if ((*to - first + width - std::chrono::milliseconds{1}) / width > max_buckets) {
    respond(bad_input("at most 2000 buckets: widen the bucket or narrow the range"));
    return;
  }
  auto report = audit_stats(sql).report(*from, *to, bucket, now);
  json buckets = json::array();
  for (const auto& b : report.buckets) {
    buckets.push_back(bucket_json(b));
  }
  respond(json_response(200, to_json_text(json{
                               {"from", format_iso8601(*from)},
                               {"to", format_iso8601(*to)},
                               {"bucket", bucket_name},
                               {"buckets", std::move(buckets)},
                               {"top_failing_ips", top_json(report.top_ips, "ip")},
                               {"top_failing_users", top_json(report.top_users, "username")},
                             })));
}

} // namespace solod
