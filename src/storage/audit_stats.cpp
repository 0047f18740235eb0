#include "storage/audit_stats.hpp"

#include "storage/cluster_news.hpp"
#include "storage/failure_ranking.hpp"
#include "storage/write_transaction.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <set>

namespace solod {

namespace {

using std::chrono::hours;

time_point hour_of(time_point t) {
  return std::chrono::floor<hours>(t);
}

time_point day_of(time_point t) {
  return std::chrono::floor<std::chrono::days>(t);
}

/// What one hour (or the part of it inside a report's range) holds.
struct hour_counts {
  std::map<std::pair<std::string, std::string>, std::int64_t> events; ///< (event_type, reason)
  name_counts failing_ips;
  name_counts failing_users;
  std::int64_t new_sessions = 0;
  std::int64_t peak_live = 0;
  std::int64_t live_at_end = 0; ///< live sessions as the hour ends (valid for a whole hour)
};

/// Live sessions just before `t`: started before it, not ended before it.
std::int64_t live_before(soci::session& sql, time_point t) {
  const std::string at = format_iso8601(t);
  long long started = 0;
  long long ended = 0;
  sql << "SELECT COUNT(*) FROM sessions WHERE login_ts < :t", soci::use(at), soci::into(started);
  sql << "SELECT COUNT(*) FROM sessions WHERE logout_ts < :t", soci::use(at), soci::into(ended);
  return started - ended;
}

/// Audit counts over [a, b): events by type and reason (of failures).
void count_audit(soci::session& sql, const std::string& a, const std::string& b, hour_counts& out) {
  std::string type, reason;
  long long n = 0;
  soci::statement st =
    (sql.prepare << "SELECT event_type, CASE WHEN event_type = 'login_failure' THEN error_message "
                    "ELSE '' END, COUNT(*) FROM login_logs WHERE timestamp >= :a AND timestamp < :b "
                    "GROUP BY 1, 2",
     soci::use(a), soci::use(b), soci::into(type), soci::into(reason), soci::into(n));
  st.execute();
  while (st.fetch()) {
    out.events[{type, reason}] += n;
  }
}

/// Every session start (+1) and end (-1) stamped in [a, b), in time order.
std::vector<std::pair<std::string, int>> session_changes(soci::session& sql, const std::string& a,
                                                         const std::string& b) {
  std::vector<std::pair<std::string, int>> changes;
  std::string at;
  for (auto [column, delta] : {std::pair{"login_ts", +1}, std::pair{"logout_ts", -1}}) {
    soci::statement st = (sql.prepare << std::string("SELECT ") + column + " FROM sessions WHERE " +
                                           column + " >= :a AND " + column + " < :b",
                          soci::use(a), soci::use(b), soci::into(at));
    st.execute();
    while (st.fetch()) {
      changes.emplace_back(at, delta);
    }
  }
  std::sort(changes.begin(), changes.end());
  return changes;
}

/// Measures hour `h` inside [a, b) (a and b within the hour), given the live
/// sessions just before the hour began. The sweep always starts at the hour,
/// so the live count at `a` and, for a whole hour, at its end come out exact.
hour_counts measure(soci::session& sql, time_point h, std::int64_t live, time_point a, time_point b) {
  hour_counts out;
  const std::string from = format_iso8601(a);
  const std::string to = format_iso8601(b);
  count_audit(sql, from, to, out);
  count_failures(sql, a, b, out.failing_ips, out.failing_users);
  const auto changes = session_changes(sql, format_iso8601(h), to);
  std::size_t i = 0;
  // Everything stamped before `a` happened before the window.
  for (; i < changes.size() && changes[i].first < from; ++i) {
    live += changes[i].second;
  }
  // L(t) changes only at stamps: its maximum over [a, b) is L(a) or its value
  // once every change of one instant is applied.
  const bool changes_at_a = i < changes.size() && changes[i].first == from;
  std::int64_t peak = changes_at_a ? 0 : live;
  for (; i < changes.size(); ++i) {
    live += changes[i].second;
    if (changes[i].second > 0) {
      ++out.new_sessions;
    }
    if (i + 1 == changes.size() || changes[i + 1].first != changes[i].first) {
      peak = std::max(peak, live);
    }
  }
  out.peak_live = peak;
  out.live_at_end = live;
  return out;
}

/// Measures whole hour `h` and caches it, in one transaction that nothing
/// forgetting the hour can interleave with (lock_stats_cache); another node
/// may have cached it first (then nothing changes).
hour_counts measure_and_store(soci::session& sql, time_point h, std::int64_t live_before_hour) {
  const std::string hour = format_iso8601(h);
  write_transaction tx(sql);
  lock_stats_cache(sql, true);
  const auto c = measure(sql, h, live_before_hour, h, h + hours{1});
  const long long live = c.live_at_end, fresh = c.new_sessions, peak = c.peak_live;
  soci::statement marker = (sql.prepare << "INSERT INTO stats_hours (hour, live_at_end, new_sessions, "
                                           "peak_live) VALUES (:h, :l, :s, :p) ON CONFLICT DO NOTHING",
                            soci::use(hour), soci::use(live), soci::use(fresh), soci::use(peak));
  marker.execute(true);
  if (marker.get_affected_rows() != 1) {
    return c; // cached meanwhile: roll back
  }
  // Rows of an earlier, forgotten copy of this hour.
  sql << "DELETE FROM stats_events WHERE hour = :h", soci::use(hour);
  sql << "DELETE FROM stats_hour_failures WHERE hour = :h", soci::use(hour);
  for (const auto& [key, n] : c.events) {
    const long long count = n;
    sql << "INSERT INTO stats_events (hour, event_type, reason, n) VALUES (:h, :t, :r, :n)",
      soci::use(hour), soci::use(key.first), soci::use(key.second), soci::use(count);
  }
  for (const auto& [kind, names] : {std::pair{"ip", &c.failing_ips}, std::pair{"user", &c.failing_users}}) {
    const std::string k = kind;
    for (const auto& [name, n] : *names) {
      const long long count = n;
      sql << "INSERT INTO stats_hour_failures (hour, kind, name, n) VALUES (:h, :k, :nm, :n)",
        soci::use(hour), soci::use(k), soci::use(name), soci::use(count);
    }
  }
  tx.commit();
  return c;
}

/// The earliest audit or session stamp at or after `h`, if any.
std::optional<std::string> next_stamp(soci::session& sql, const std::string& h) {
  std::optional<std::string> next;
  for (const char* query : {"SELECT MIN(timestamp) FROM login_logs WHERE timestamp >= :h",
                            "SELECT MIN(login_ts) FROM sessions WHERE login_ts >= :h",
                            "SELECT MIN(logout_ts) FROM sessions WHERE logout_ts >= :h"}) {
    std::string at;
    soci::indicator ind = soci::i_null;
    sql << query, soci::use(h), soci::into(at, ind);
    if (ind == soci::i_ok && (!next || at < *next)) {
      next = at;
    }
  }
  return next;
}

/// Caches, at once, the whole hours from `h` (before `limit`) in which nothing
/// happened: no audit row, no session began or ended. Each holds `live`
/// sessions throughout. Returns how many; 0 when something happened in `h`.
/// A year of empty history then costs three look-ups, not 8,760 measurements.
std::size_t store_quiet_run(soci::session& sql, time_point h, time_point limit, std::int64_t live) {
  write_transaction tx(sql);
  lock_stats_cache(sql, true);
  time_point end = limit;
  if (auto next = next_stamp(sql, format_iso8601(h))) {
    end = std::min(end, hour_of(parse_iso8601(*next).value_or(h)));
  }
  if (end <= h) {
    return 0;
  }
  const std::string from = format_iso8601(h);
  const std::string to = format_iso8601(end);
  // Rows of earlier, forgotten copies of these hours.
  sql << "DELETE FROM stats_events WHERE hour >= :a AND hour < :b", soci::use(from), soci::use(to);
  sql << "DELETE FROM stats_hour_failures WHERE hour >= :a AND hour < :b", soci::use(from), soci::use(to);
  std::string hour;
  const long long n = live;
  soci::statement marker = (sql.prepare << "INSERT INTO stats_hours (hour, live_at_end, new_sessions, "
                                           "peak_live) VALUES (:h, :l, 0, :p) ON CONFLICT DO NOTHING",
                            soci::use(hour), soci::use(n), soci::use(n));
  std::size_t count = 0;
  for (time_point t = h; t < end; t += hours{1}, ++count) {
    hour = format_iso8601(t);
    marker.execute(true);
  }
  tx.commit();
  return count;
}

/// The cached hours in [first, last]: their markers, then their event counts.
std::map<time_point, hour_counts> load_cached(soci::session& sql, time_point first, time_point last) {
  std::map<time_point, hour_counts> cached;
  const std::string a = format_iso8601(first);
  const std::string b = format_iso8601(last);
  std::string hour;
  long long live = 0, fresh = 0, peak = 0;
  soci::statement markers =
    (sql.prepare << "SELECT hour, live_at_end, new_sessions, peak_live FROM stats_hours "
                    "WHERE hour >= :a AND hour <= :b",
     soci::use(a), soci::use(b), soci::into(hour), soci::into(live), soci::into(fresh), soci::into(peak));
  markers.execute();
  while (markers.fetch()) {
    if (auto t = parse_iso8601(hour)) {
      auto& c = cached[*t];
      c.live_at_end = live;
      c.new_sessions = fresh;
      c.peak_live = peak;
    }
  }
  return cached;
}

/// Adds the cached event counts of [first, last] to `cached`, but for the hours in `fresh`.
void load_cached_events(soci::session& sql, time_point first, time_point last,
                        const std::set<time_point>& fresh, std::map<time_point, hour_counts>& cached) {
  const std::string a = format_iso8601(first);
  const std::string b = format_iso8601(last);
  std::string hour, type, reason;
  long long n = 0;
  soci::statement st = (sql.prepare << "SELECT hour, event_type, reason, n FROM stats_events "
                                       "WHERE hour >= :a AND hour <= :b",
                        soci::use(a), soci::use(b), soci::into(hour), soci::into(type),
                        soci::into(reason), soci::into(n));
  st.execute();
  while (st.fetch()) {
    auto t = parse_iso8601(hour);
    if (!t || fresh.contains(*t)) {
      continue;
    }
    if (auto it = cached.find(*t); it != cached.end()) {
      it->second.events[{type, reason}] += n;
    }
  }
}

/// Adds hour counts into a bucket (a peak is the largest of its hours').
void add_into(stats_counts& bucket, const hour_counts& c) {
  for (const auto& [key, n] : c.events) {
    bucket.events[key.first] += n;
    if (key.first == "login_failure") {
      bucket.failures[key.second] += n;
    }
  }
  bucket.new_sessions += c.new_sessions;
  bucket.peak_live = std::max(bucket.peak_live, c.peak_live);
}

} // namespace

stats_report audit_stats::report(time_point from, time_point to, stats_bucket bucket, time_point now) {
  const time_point first = hour_of(from);
  // Whole hours inside the range that ended `settle` ago are cached.
  const time_point cacheable_end = std::min(hour_of(to), hour_of(now - settle));
  auto cached = load_cached(sql_, first - hours{1}, cacheable_end);
  std::int64_t live = 0;
  if (auto before = cached.find(first - hours{1}); before != cached.end()) {
    live = before->second.live_at_end;
  } else {
    live = live_before(sql_, first);
  }
  std::map<time_point, hour_counts> by_hour;
  name_counts ips, users; ///< failures of the hours not cached
  std::optional<time_point> cached_first, cached_last;
  std::set<time_point> fresh; ///< measured now: their counts are in `cached` already
  bool try_quiet = true;      ///< the last hour measured was empty: look for a quiet stretch
  for (time_point h = first; h < to; h += hours{1}) {
    const time_point a = std::max(h, from);
    const time_point b = std::min(h + hours{1}, to);
    if (a == h && b == h + hours{1} && b <= cacheable_end) {
      if (!cached.contains(h)) {
        const auto quiet = try_quiet ? store_quiet_run(sql_, h, cacheable_end, live) : 0;
        for (std::size_t i = 0; i < quiet; ++i) {
          const time_point q = h + hours{static_cast<long>(i)};
          cached[q] = hour_counts{.peak_live = live, .live_at_end = live};
          fresh.insert(q);
        }
        if (quiet == 0) {
          cached[h] = measure_and_store(sql_, h, live);
          fresh.insert(h);
          const auto& c = cached[h];
          try_quiet = c.events.empty() && c.new_sessions == 0 && c.live_at_end == live;
        }
      }
      live = cached[h].live_at_end;
      cached_first = cached_first.value_or(h);
      cached_last = h;
      continue;
    }
    auto c = measure(sql_, h, live, a, b);
    live = c.live_at_end;
    for (const auto& [ip, n] : c.failing_ips) {
      ips[ip] += n;
    }
    for (const auto& [user, n] : c.failing_users) {
      users[user] += n;
    }
    by_hour[h] = std::move(c);
  }
  if (cached_first) {
    load_cached_events(sql_, *cached_first, *cached_last, fresh, cached);
    for (const auto& [h, c] : cached) {
      if (h >= *cached_first && h <= *cached_last) {
        by_hour[h] = c;
      }
    }
  }
  stats_report out;
  for (const auto& [h, c] : by_hour) {
    const time_point start = bucket == stats_bucket::hour ? h : day_of(h);
    if (out.buckets.empty() || std::max(start, from) != out.buckets.back().start) {
      const time_point end = bucket == stats_bucket::hour ? h + hours{1} : start + std::chrono::days{1};
      out.buckets.push_back(stats_slice{std::max(start, from), std::min(end, to), {}});
    }
    add_into(out.buckets.back().counts, c);
  }
  std::optional<std::pair<time_point, time_point>> cached_span;
  if (cached_first) {
    cached_span = std::pair{*cached_first, *cached_last + hours{1}};
  }
  auto top = failure_ranking(sql_).rank(cached_span, ips, users);
  out.top_ips = std::move(top.ips);
  out.top_users = std::move(top.users);
  return out;
}

void analyze_stats_cache(soci::session& sql) {
  if (is_postgresql(sql)) {
    sql << "ANALYZE stats_hours, stats_events, stats_hour_failures, stats_days, stats_day_failures";
  }
}

void forget_stats_from(soci::session& sql, time_point t) {
  lock_stats_cache(sql, false);
  const std::string hour = format_iso8601(hour_of(t));
  sql << "DELETE FROM stats_hours WHERE hour >= :h", soci::use(hour);
  forget_failure_days_from(sql, t);
}

void forget_stats_hours(soci::session& sql, const std::vector<time_point>& stamps) {
  lock_stats_cache(sql, false);
  std::set<std::string> hours_of;
  for (auto t : stamps) {
    hours_of.insert(format_iso8601(hour_of(t)));
  }
  // Their rows too, not only the markers: an erasure must leave no copy of a name.
  for (const auto& hour : hours_of) {
    sql << "DELETE FROM stats_hours WHERE hour = :h", soci::use(hour);
    sql << "DELETE FROM stats_events WHERE hour = :h", soci::use(hour);
    sql << "DELETE FROM stats_hour_failures WHERE hour = :h", soci::use(hour);
  }
  forget_failure_days(sql, stamps);
}

void forget_stats_before(soci::session& sql, time_point cutoff) {
  lock_stats_cache(sql, false);
  const std::string hour = format_iso8601(hour_of(cutoff));
  sql << "DELETE FROM stats_hours WHERE hour <= :h", soci::use(hour);
  sql << "DELETE FROM stats_events WHERE hour <= :h", soci::use(hour);
  forget_failure_days_before(sql, cutoff);
}

} // namespace solod
