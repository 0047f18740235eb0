#include "storage/failure_ranking.hpp"

#include "storage/cluster_news.hpp"
#include "storage/write_transaction.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <set>

namespace solod {

namespace {

using std::chrono::days;
using std::chrono::hours;

time_point day_of(time_point t) {
  return std::chrono::floor<days>(t);
}

/// Where the cached failures of a range are: whole days, and the hours before
/// and after them (either span may be empty).
struct cached_parts {
  std::string day_from, day_to;   ///< [day_from, day_to) of stats_day_failures
  std::string head_from, head_to; ///< hours of stats_hour_failures before the days
  std::string tail_from, tail_to; ///< and after them

  /// The cached rows of one kind as one `(name, n)` relation: three range
  /// reads (days, hours before, hours after), each of all names (`names` 0) or
  /// of `names` bound after its values. Without a name list SQLite is kept on
  /// the primary keys' ranges by `kind || ''` (else it walks every row of the
  /// kind in the name index to skip a sort); PostgreSQL plans by statistics.
  static std::string relation(std::size_t names, bool sqlite) {
    const std::string kind = names == 0 && sqlite ? "kind || '' = :k" : "kind = :k";
    auto part = [&](const char* table, const char* column, char tag) {
      std::string sql = std::string("SELECT name, n FROM ") + table + " WHERE " + kind + tag + " AND " +
                        column + " >= :" + tag + "0 AND " + column + " < :" + tag + "1";
      for (std::size_t i = 0; i < names; ++i) {
        sql += (i == 0 ? " AND name IN (:" : ", :") + std::string(1, tag) + "n" + std::to_string(i);
      }
      return names == 0 ? sql : sql + ")";
    };
    return "(" + part("stats_day_failures", "day", 'd') + " UNION ALL " +
           part("stats_hour_failures", "hour", 'h') + " UNION ALL " + part("stats_hour_failures", "hour", 't') +
           ") AS f";
  }

  /// Binds the relation's values in the order `relation` names them.
  void bind(soci::statement& st, const std::string& kind, const std::vector<std::string>& names = {}) const {
    const std::pair<const std::string*, const std::string*> spans[] = {
      {&day_from, &day_to}, {&head_from, &head_to}, {&tail_from, &tail_to}};
    for (const auto& [from, to] : spans) {
      st.exchange(soci::use(kind));
      st.exchange(soci::use(*from));
      st.exchange(soci::use(*to));
      for (const auto& name : names) {
        st.exchange(soci::use(name));
      }
    }
  }
};

/// Sums the cached hours of day `d` into its rows, once: the 24 hours must be
/// cached still (a late row may have dropped one meanwhile: then not now);
/// another node may have done it first (then nothing changes). True when the
/// day is cached afterwards.
bool store_day(soci::session& sql, time_point d) {
  const std::string day = format_iso8601(d);
  const std::string end = format_iso8601(d + days{1});
  write_transaction tx(sql);
  lock_stats_cache(sql, true);
  long long hours_cached = 0;
  sql << "SELECT COUNT(*) FROM stats_hours WHERE hour >= :a AND hour < :b", soci::use(day), soci::use(end),
    soci::into(hours_cached);
  if (hours_cached != 24) {
    return false;
  }
  soci::statement marker =
    (sql.prepare << "INSERT INTO stats_days (day) VALUES (:d) ON CONFLICT DO NOTHING", soci::use(day));
  marker.execute(true);
  if (marker.get_affected_rows() != 1) {
    return true; // cached meanwhile: roll back
  }
  // Rows of an earlier, forgotten copy of this day.
  sql << "DELETE FROM stats_day_failures WHERE day = :d", soci::use(day);
  sql << "INSERT INTO stats_day_failures (day, kind, name, n) SELECT :d, kind, name, SUM(n) "
         "FROM stats_hour_failures WHERE hour >= :a AND hour < :b GROUP BY kind, name",
    soci::use(day), soci::use(day), soci::use(end);
  tx.commit();
  return true;
}

/// Caches the whole days of [first, end) and says where the cached rows are.
cached_parts cache_days(soci::session& sql, time_point first, time_point end) {
  const time_point day_first = day_of(first) == first ? first : day_of(first) + days{1};
  const time_point day_end = std::max(day_first, day_of(end));
  cached_parts parts;
  if (day_first >= day_end) {
    parts.head_from = format_iso8601(first);
    parts.head_to = parts.day_from = parts.day_to = parts.tail_from = parts.tail_to = format_iso8601(end);
    return parts;
  }
  std::set<std::string> cached;
  std::string day;
  const std::string a = format_iso8601(day_first);
  const std::string b = format_iso8601(day_end);
  soci::statement st = (sql.prepare << "SELECT day FROM stats_days WHERE day >= :a AND day < :b",
                        soci::use(a), soci::use(b), soci::into(day));
  st.execute();
  while (st.fetch()) {
    cached.insert(day);
  }
  bool all_days = true;
  for (time_point d = day_first; d < day_end; d += days{1}) {
    if (!cached.contains(format_iso8601(d))) {
      all_days = store_day(sql, d) && all_days;
    }
  }
  if (!all_days) {
    // A day could not be cached (one of its hours was dropped meanwhile):
    // this once, every cached hour counts from its hours' rows.
    parts.head_from = format_iso8601(first);
    parts.head_to = parts.day_from = parts.day_to = parts.tail_from = parts.tail_to = format_iso8601(end);
    return parts;
  }
  parts.head_from = format_iso8601(first);
  parts.head_to = parts.day_from = a;
  parts.day_to = parts.tail_from = b;
  parts.tail_to = format_iso8601(end);
  return parts;
}

/// The `top_n` names with the most cached failures of kind `kind` (most
/// first, then by name): the database ranks them, so tens of thousands of
/// names never cross into the program.
std::vector<failure_count> cached_top(soci::session& sql, const cached_parts& parts, const std::string& kind) {
  std::vector<failure_count> top;
  std::string name;
  long long n = 0;
  soci::statement st(sql);
  st.exchange(soci::into(name));
  st.exchange(soci::into(n));
  parts.bind(st, kind);
  st.alloc();
  // Ties go by bytes, as top_of breaks them, whatever the database's collation.
  const char* by_name = is_postgresql(sql) ? "name COLLATE \"C\"" : "name";
  st.prepare("SELECT name, SUM(n) AS total FROM " + cached_parts::relation(0, !is_postgresql(sql)) +
             " GROUP BY name ORDER BY total DESC, " + by_name + " LIMIT " + std::to_string(failure_ranking::top_n));
  st.define_and_bind();
  st.execute(false);
  while (st.fetch()) {
    top.emplace_back(name, n);
  }
  return top;
}

/// The cached failures of each of `names` (names without any are absent):
/// 500 names a query.
name_counts cached_counts(soci::session& sql, const cached_parts& parts, const std::string& kind,
                          const name_counts& names) {
  constexpr std::size_t chunk = 500;
  std::vector<std::string> all;
  for (const auto& entry : names) {
    all.push_back(entry.first);
  }
  name_counts out;
  for (std::size_t at = 0; at < all.size(); at += chunk) {
    const std::vector<std::string> some(all.begin() + static_cast<std::ptrdiff_t>(at),
                                        all.begin() + static_cast<std::ptrdiff_t>(std::min(at + chunk, all.size())));
    std::string name;
    long long count = 0;
    soci::statement st(sql);
    st.exchange(soci::into(name));
    st.exchange(soci::into(count));
    parts.bind(st, kind, some);
    st.alloc();
    st.prepare("SELECT name, SUM(n) FROM " + cached_parts::relation(some.size(), !is_postgresql(sql)) +
               " GROUP BY name");
    st.define_and_bind();
    st.execute(false);
    while (st.fetch()) {
      out[name] = count;
    }
  }
  return out;
}

std::vector<failure_count> top_of(const name_counts& counts) {
  std::vector<failure_count> all(counts.begin(), counts.end());
  const auto n = std::min(all.size(), failure_ranking::top_n);
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [](const failure_count& x, const failure_count& y) {
                      return x.second != y.second ? x.second > y.second : x.first < y.first;
                    });
  all.resize(n);
  return all;
}

/// The top list of the cached rows plus `live` counts, exactly: a name without
/// live counts ranks by its cached count, so if it belongs in the top at all it
/// is in the cached top; every live name gets its cached count added.
std::vector<failure_count> merged_top(soci::session& sql, const cached_parts& parts, const std::string& kind,
                                      const name_counts& live) {
  name_counts candidates;
  for (const auto& [name, n] : cached_top(sql, parts, kind)) {
    candidates[name] = n;
  }
  const auto cached = cached_counts(sql, parts, kind, live);
  for (const auto& [name, n] : live) {
    auto it = cached.find(name);
    candidates[name] = n + (it == cached.end() ? 0 : it->second);
  }
  return top_of(candidates);
}

} // namespace

void count_failures(soci::session& sql, time_point from, time_point to, name_counts& ips,
                    name_counts& users) {
  const std::string a = format_iso8601(from);
  const std::string b = format_iso8601(to);
  for (auto [column, into] : {std::pair{"ip_address", &ips}, std::pair{"lower(username)", &users}}) {
    std::string name;
    long long n = 0;
    soci::statement st =
      (sql.prepare << std::string("SELECT ") + column + ", COUNT(*) FROM login_logs "
                      "WHERE event_type = 'login_failure' AND timestamp >= :a AND timestamp < :b "
                      "AND " + column + " <> '' GROUP BY " + column,
       soci::use(a), soci::use(b), soci::into(name), soci::into(n));
    st.execute();
    while (st.fetch()) {
      (*into)[name] += n;
    }
  }
}

failure_tops failure_ranking::rank(const std::optional<std::pair<time_point, time_point>>& cached,
                                   const name_counts& live_ips, const name_counts& live_users) {
  if (!cached) {
    return {top_of(live_ips), top_of(live_users)};
  }
  const auto parts = cache_days(sql_, cached->first, cached->second);
  return {merged_top(sql_, parts, "ip", live_ips), merged_top(sql_, parts, "user", live_users)};
}

void lock_stats_cache(soci::session& sql, bool exclusive) {
  if (!is_postgresql(sql)) {
    return;
  }
  // "stat" in ASCII: the key every node agrees on.
  constexpr long long key = 0x73746174;
  int ignored = 0;
  sql << (exclusive ? "SELECT 1 FROM (SELECT pg_advisory_xact_lock(" : "SELECT 1 FROM (SELECT pg_advisory_xact_lock_shared(") +
           std::to_string(key) + ")) AS l",
    soci::into(ignored);
}

void forget_failure_days_from(soci::session& sql, time_point t) {
  const std::string day = format_iso8601(day_of(t));
  sql << "DELETE FROM stats_days WHERE day >= :d", soci::use(day);
}

void forget_failure_days(soci::session& sql, const std::vector<time_point>& stamps) {
  std::set<std::string> days_of;
  for (auto t : stamps) {
    days_of.insert(format_iso8601(day_of(t)));
  }
  for (const auto& day : days_of) {
    sql << "DELETE FROM stats_days WHERE day = :d", soci::use(day);
    sql << "DELETE FROM stats_day_failures WHERE day = :d", soci::use(day);
  }
}

void forget_failure_days_before(soci::session& sql, time_point cutoff) {
  const std::string day = format_iso8601(day_of(cutoff));
  const std::string hour = format_iso8601(std::chrono::floor<hours>(cutoff));
  sql << "DELETE FROM stats_days WHERE day <= :d", soci::use(day);
  sql << "DELETE FROM stats_day_failures WHERE day <= :d", soci::use(day);
  sql << "DELETE FROM stats_hour_failures WHERE hour <= :h", soci::use(hour);
}

} // namespace solod
