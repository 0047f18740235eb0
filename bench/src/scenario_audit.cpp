// Scenario 7, audit: how many events per second the audit actor commits to
// SQLite (or, with --db-url postgresql://..., to PostgreSQL), and what
// durability = "commit" costs a login against "async".
//
// Events/s: solod's own audit actor (spawn_audit_actor, src/actors/) on a
// real actor system and a real SQLite file in WAL mode, as the server runs
// it in commit durability: events stream in, every --chunk-th one asks to be
// told when it is committed (at most --in-flight such requests outstanding,
// so the mailbox stays bounded, as logins keep it in life), and a final
// flush commits the rest. The rate is events over the time until the last
// commit; the rows are counted afterwards.
//
// Login latency: two running servers, one with durability commit and one
// with async, both seeded with the same users; sequential logins alternate
// between them (ABBA order), so both see the same machine at the same time.

#include "clock.hpp"
#include "http_client.hpp"
#include "latency_histogram.hpp"
#include "report.hpp"
#include "run_settings.hpp"
#include "scenarios.hpp"
#include "sqlite_ceiling.hpp"

#include "actors/audit_actor.hpp"
#include "actors/messages.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "util/metrics.hpp"
#include "util/random.hpp"

#include <caf/all.hpp>
#include <soci/soci.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <thread>
#include <unistd.h>

namespace bench {

namespace {

/// What the audit actor measurement gave.
struct actor_run {
  std::size_t events = 0;
  double seconds = 0;
  long long rows = 0;
  std::uint64_t committed = 0;
  std::uint64_t failures = 0;
  std::size_t left = 0;
  std::size_t commit_refused = 0;
};

actor_run measure_audit_actor(const solod::database_url& url, std::size_t events, std::size_t batch_max,
                              std::size_t chunk, std::size_t in_flight) {
  {
    auto sql = solod::open_database(url);
    solod::migrate(*sql, url.dialect);
  }
  actor_run out;
  out.events = events;
  solod::metrics stats;
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", std::max(1u, std::thread::hardware_concurrency()));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    solod::audit_actor_options o;
    o.url = url;
    o.durability = solod::audit_durability::commit;
    o.batch_max = batch_max;
    o.stats = &stats;
    auto audit = solod::spawn_audit_actor(sys, o);

    // Realistic rows: a thousand users and their sessions, cycled.
    std::vector<solod::audit_event> templates(1000);
    for (std::size_t u = 0; u < templates.size(); ++u) {
      auto& e = templates[u];
      e.event_type = u % 10 == 0 ? "session_superseded" : "login_success";
      e.user_id = static_cast<std::int64_t>(u + 1);
      e.username = user_name("bench-", u + 1);
      e.session_id = solod::random_hex(16);
      e.ip_address = "127.0.0.1";
      e.user_agent = "solod-bench/1 (audit)";
    }

    caf::scoped_actor self{sys};
    using handle = decltype(self->request(audit, caf::infinite, solod::commit_atom::value, templates[0]));
    std::deque<handle> waiting;
    auto await_one = [&] {
      waiting.front().receive([&](bool ok) { out.commit_refused += ok ? 0 : 1; },
                              [&](caf::error&) { out.commit_refused++; });
      waiting.pop_front();
    };
    const auto start = now_ns();
    for (std::size_t i = 0; i < events; ++i) {
      auto e = templates[i % templates.size()];
      e.timestamp = std::chrono::system_clock::now();
      if ((i + 1) % chunk == 0) {
        waiting.push_back(self->request(audit, caf::infinite, solod::commit_atom::value, std::move(e)));
        while (waiting.size() > in_flight) {
          await_one();
        }
      } else {
        self->send(audit, solod::audit_atom::value, std::move(e));
      }
    }
    self->request(audit, caf::infinite, solod::flush_atom::value, solod::count_atom::value)
      .receive([&](std::size_t left) { out.left = left; }, [&](caf::error&) { out.left = events; });
    while (!waiting.empty()) {
      await_one();
    }
    out.seconds = seconds_of(now_ns() - start);
    self->send_exit(audit, caf::exit_reason::user_shutdown);
  }
  out.committed = stats.audit_events_committed.load();
  out.failures = stats.audit_commit_failures.load();
  auto sql = solod::open_database(url);
  *sql << "SELECT COUNT(*) FROM login_logs", soci::into(out.rows);
  return out;
}

/// Alternating sequential logins against two servers; latency histograms of each.
struct latency_pair {
  latency_histogram commit;
  latency_histogram async;
  std::size_t failed = 0;
  std::string first_error;
};

latency_pair measure_login_latency(const target& commit_server, const target& async_server,
                                   const std::vector<bench_user>& users, const std::string& password,
                                   std::size_t logins, std::chrono::seconds timeout) {
  boost::asio::io_context ioc{1};
  bool timed_out = false;
  arm_deadline(ioc, timeout, &timed_out);
  auto commit_client = make_http_client(ioc, commit_server);
  auto async_client = make_http_client(ioc, async_server);
  latency_pair out;
  std::function<void(std::size_t)> step;
  // Step k: login k/2 on one server; the order alternates ABBA ABBA ...
  step = [&](std::size_t k) {
    if (k >= 2 * logins) {
      ioc.stop(); // done: the deadline timer must not hold the loop
      return;
    }
    const bool to_commit = (k % 4 == 0 || k % 4 == 3);
    auto& client = to_commit ? *commit_client : *async_client;
    const auto& user = users[(k / 2) % users.size()];
    login(client, user.name, password, [&, k, to_commit](login_result r) {
      if (r.status == 200) {
        (to_commit ? out.commit : out.async).record(r.done_ns - r.sent_ns);
      } else {
        ++out.failed;
        if (out.first_error.empty()) {
          out.first_error = r.error;
        }
      }
      step(k + 1);
    });
  };
  step(0);
  ioc.run();
  if (timed_out && out.first_error.empty()) {
    out.first_error = "timed out";
  }
  return out;
}

} // namespace

int run_audit(const arguments& args) {
  const char* env_password = std::getenv("BENCH_PASSWORD");
  options opts("audit", {
    {"events", "1000000", "events the audit actor commits"},
    {"batch-max", "512", "rows per transaction (solod's audit.batch_max)"},
    {"chunk", "4096", "every chunk-th event waits for its commit"},
    {"in-flight", "8", "commit waits outstanding at once"},
    {"db", "", "SQLite file for the actor run (default: a temporary file, removed)"},
    {"db-url", "", "or a database.url for the actor run, e.g. postgresql://... (an EMPTY database: rows are counted)"},
    {"raw-rows", "-1", "rows for the raw SQLite ceiling (C API, same rows): -1 = as --events, 0 = skip"},
    {"commit-url", "", "a running solod with audit.durability = commit (for login latency)"},
    {"async-url", "", "a running solod with audit.durability = async, same users"},
    {"logins", "200", "logins per server for the latency comparison"},
    {"users", "200", "distinct users for those logins"},
    {"tokens", "", "token file from `seed` (user names); default generated names"},
    {"user-prefix", "bench-", "user names without a token file: PREFIX000001..."},
    {"password", env_password ? env_password : "bench-password-1", "password of every bench user"},
    {"label", "solod", "the server's name in the results"},
    {"timeout", "600", "hard cap on the login part, seconds"},
  });
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  const auto events = static_cast<std::size_t>(std::max(1LL, opts.integer("events")));
  const auto batch_max = static_cast<std::size_t>(std::max(1LL, opts.integer("batch-max")));
  const auto chunk = static_cast<std::size_t>(std::max(1LL, opts.integer("chunk")));
  const auto in_flight = static_cast<std::size_t>(std::max(1LL, opts.integer("in-flight")));
  const auto logins = static_cast<std::size_t>(std::max(1LL, opts.integer("logins")));
  const bool with_logins = opts.given("commit-url") || opts.given("async-url");
  if (with_logins && !(opts.given("commit-url") && opts.given("async-url"))) {
    throw usage_error("audit: give both --commit-url and --async-url, or neither");
  }

  // -- login latency, commit against async -------------------------------------------------
  latency_pair lat;
  if (with_logins) {
    auto commit_server = parse_target(opts.str("commit-url"), "solod");
    auto async_server = parse_target(opts.str("async-url"), "solod");
    auto n_users = static_cast<std::size_t>(std::max(1LL, opts.integer("users")));
    std::vector<bench_user> users;
    if (opts.given("tokens")) {
      users = read_token_file(opts.str("tokens"));
      if (users.size() > n_users) {
        users.resize(n_users);
      }
    } else {
      users = generated_users(opts.str("user-prefix"), n_users);
    }
    if (users.empty()) {
      throw usage_error("audit: no users to log in");
    }
    lat = measure_login_latency(commit_server, async_server, users, opts.str("password"), logins,
                                std::chrono::seconds(std::max(1LL, opts.integer("timeout"))));
  }

  // -- the audit actor ------------------------------------------------------------------------------
  std::string db = opts.str("db");
  const bool on_url = opts.given("db-url");
  const bool temporary = db.empty() && !on_url;
  if (temporary) {
    db = (std::filesystem::temp_directory_path() / ("solod-bench-audit-" + std::to_string(::getpid()) + ".db"))
           .string();
  }
  const auto url = on_url ? solod::database_url::parse(opts.str("db-url"))
                          : solod::database_url{solod::sql_dialect::sqlite, db};
  const char* backend = url.dialect == solod::sql_dialect::postgresql ? "postgresql" : "sqlite";
  auto actor = measure_audit_actor(url, events, batch_max, chunk, in_flight);
  if (temporary) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ec;
      std::filesystem::remove(db + suffix, ec);
    }
  }

  // -- what SQLite itself does with the same rows, with and without the indexes -----------------
  // The audit actor cannot commit faster than this: the bound behind its figure.
  const auto raw_rows = opts.integer("raw-rows") < 0 ? events
                                                     : static_cast<std::size_t>(opts.integer("raw-rows"));
  sqlite_ceiling raw_indexed, raw_table;
  if (raw_rows > 0) {
    auto raw_db = (std::filesystem::temp_directory_path() /
                   ("solod-bench-sqlite-" + std::to_string(::getpid()) + ".db")).string();
    raw_indexed = measure_sqlite_ceiling(raw_db, raw_rows, batch_max, true);
    raw_table = measure_sqlite_ceiling(raw_db, raw_rows, batch_max, false);
  }

  double rate = actor.seconds > 0 ? static_cast<double>(actor.events) / actor.seconds : 0;
  const bool rows_ok = actor.rows == static_cast<long long>(actor.events) && actor.left == 0 && actor.failures == 0;
  auto commit_ms = lat.commit.summary_ms();
  auto async_ms = lat.async.summary_ms();
  double delta = lat.commit.percentile_ms(50) - lat.async.percentile_ms(50);
  const bool ok = rows_ok && (!with_logins || (lat.failed == 0 && lat.commit.count() == logins &&
                                              lat.async.count() == logins));

  nlohmann::json result{{"scenario", "audit"}, {"proto", "solod"}, {"label", opts.str("label")}, {"tls", false}};
  result.update({{"events", actor.events},
                 {"rows", actor.rows},
                 {"seconds", rounded(actor.seconds)},
                 {"events_per_s", rounded(rate, 1)},
                 {"batch_max", batch_max},
                 {"backend", backend},
                 {"commit_failures", actor.failures},
                 {"ok", ok}});
  std::vector<report_row> rows{
    {"events committed / rows", fmt(static_cast<double>(actor.committed)) + " / " + fmt(static_cast<double>(actor.rows))},
    {"time", fmt(actor.seconds, 3) + " s"},
    {"events/s", fmt(rate)},
    {"batch_max", std::to_string(batch_max)},
  };
  if (raw_rows > 0) {
    result.update({{"sqlite_raw_rows", raw_rows},
                   {"sqlite_raw_per_s", rounded(raw_indexed.rows_per_s, 1)},
                   {"sqlite_raw_table_only_per_s", rounded(raw_table.rows_per_s, 1)},
                   {"actor_vs_raw", raw_indexed.rows_per_s > 0 ? rounded(rate / raw_indexed.rows_per_s, 3) : 0.0}});
    rows.push_back({"raw SQLite C API, same rows + indexes", fmt(raw_indexed.rows_per_s) + " rows/s"});
    rows.push_back({"raw SQLite C API, table only", fmt(raw_table.rows_per_s) + " rows/s"});
    rows.push_back({"audit actor / raw (same indexes)",
                    fmt(raw_indexed.rows_per_s > 0 ? 100 * rate / raw_indexed.rows_per_s : 0, 1) + " %"});
  }
  if (with_logins) {
    result.update({{"logins", logins},
                   {"login_failed", lat.failed},
                   {"commit_login_ms", commit_ms},
                   {"async_login_ms", async_ms},
                   {"commit_median_ms", rounded(lat.commit.percentile_ms(50))},
                   {"async_median_ms", rounded(lat.async.percentile_ms(50))},
                   {"commit_minus_async_ms", rounded(delta)}});
    if (!lat.first_error.empty()) {
      result["first_error"] = lat.first_error;
    }
    rows.push_back({"login, durability commit", fmt_latency(commit_ms)});
    rows.push_back({"login, durability async", fmt_latency(async_ms)});
    rows.push_back({"median commit - async", fmt(delta, 3) + " ms"});
    rows.push_back({"login failures", fmt(static_cast<double>(lat.failed))});
  }
  print_report("audit: " + std::to_string(events) + " events through the audit actor (" + backend + ")", rows,
               result);
  return ok ? 0 : 1;
}

} // namespace bench
