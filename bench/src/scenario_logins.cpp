// Scenario 1, logins: password logins per second through the server, and in
// the same run the raw Argon2id verify rate at the same parameters on the
// same cores; the first should be close to the second (target >= 90 %).
//
// The raw rate is measured twice, half before and half after the logins
// (the machine may be shared: this brackets the logins in time), with one
// thread per core, as solod's hashing pool. Logins go round-robin over the
// users of the token file (seeded: every user has the bench password), with
// --concurrency logins in flight over keep-alive connections. Each login
// supersedes the user's previous session, as a real re-login does.

#include "argon2_rate.hpp"
#include "clock.hpp"
#include "latency_histogram.hpp"
#include "login_pool.hpp"
#include "report.hpp"
#include "run_settings.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

#include <map>

namespace bench {

int run_logins(const arguments& args) {
  auto specs = common_specs();
  specs.push_back({"users", "1000", "distinct users to log in round-robin (from --tokens, or generated names)"});
  specs.push_back({"duration", "10", "seconds of logins"});
  specs.push_back({"max-logins", "1000000", "stop after this many logins"});
  specs.push_back({"concurrency", "8", "logins in flight, all processes together"});
  specs.push_back({"hash-seconds", "6", "seconds of raw Argon2id measurement (half before, half after)"});
  specs.push_back({"hash-threads", "0", "threads for the raw rate (0 = one per core, like solod)"});
  options opts("logins", specs);
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  const auto n_users = static_cast<std::size_t>(std::max(1LL, opts.integer("users")));
  const double duration = opts.number("duration");
  const auto max_logins = static_cast<std::size_t>(std::max(1LL, opts.integer("max-logins")));
  const auto concurrency = static_cast<std::size_t>(std::max(1LL, opts.integer("concurrency")));
  const double hash_seconds = opts.number("hash-seconds");
  const auto hash_threads = static_cast<std::size_t>(std::max(0LL, opts.integer("hash-threads")));
  const auto s = read_settings(opts, n_users);
  const auto procs = s.processes;

  auto raw_before = measure_argon2_rate(s.password, hash_threads, hash_seconds / 2);

  auto run = run_workers(procs, s.timeout, nullptr, [&](worker_link& link) -> json {
    boost::asio::io_context ioc{1};
    std::size_t begin = 0, end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(begin, end) = link.share(n_users);
    std::vector<bench_user> mine(s.users.begin() + static_cast<long>(begin), s.users.begin() + static_cast<long>(end));
    std::size_t c_begin = 0, c_end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(c_begin, c_end) = link.share(concurrency);
    std::size_t m_begin = 0, m_end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(m_begin, m_end) = link.share(max_logins);
    bool timed_out = false;
    arm_deadline(ioc, s.timeout, &timed_out);
    login_pool pool(ioc, node_for(s, link.index()), std::max<std::size_t>(1, c_end - c_begin));
    latency_histogram latency;
    std::uint64_t ok = 0, failed = 0;
    std::map<std::string, std::uint64_t> statuses;
    std::string first_error;
    std::int64_t start_ns = 0, end_ns = 0;
    link.barrier(ioc, "start", {}, [&](json) {
      start_ns = now_ns();
      pool.run(
        mine, s.password, m_end - m_begin, start_ns + ns_of_seconds(duration),
        [&](std::size_t, login_result& r) {
          statuses[std::to_string(r.status)]++;
          end_ns = std::max(end_ns, r.done_ns);
          if (r.status == 200) {
            ++ok;
            latency.record(r.done_ns - r.sent_ns);
          } else {
            ++failed;
            if (first_error.empty()) {
              first_error = r.error;
            }
          }
        },
        [&] { link.barrier(ioc, "done", {}, [&](json) { ioc.stop(); }); });
    });
    ioc.run();
    return json{{"ok", ok},           {"failed", failed},     {"statuses", statuses},
                {"start_ns", start_ns}, {"end_ns", end_ns},   {"latency", latency.to_json()},
                {"first_error", first_error}, {"timed_out", timed_out}};
  });

  auto raw_after = measure_argon2_rate(s.password, hash_threads, hash_seconds / 2);

  const auto& reports = run.reports;
  auto ok = sum_of(reports, "ok");
  auto failed = sum_of(reports, "failed");
  auto span_ns = max_of(reports, "end_ns") - min_of(reports, "start_ns");
  double seconds = span_ns > 0 ? seconds_of(span_ns) : 0;
  double rate = seconds > 0 ? static_cast<double>(ok) / seconds : 0;
  double raw_verifies = static_cast<double>(raw_before.verifies + raw_after.verifies);
  double raw_seconds = raw_before.seconds + raw_after.seconds;
  double raw = raw_seconds > 0 ? raw_verifies / raw_seconds : 0;
  double ratio = raw > 0 ? rate / raw : 0;
  auto latency = merged_histogram(reports, "latency").summary_ms();
  json statuses = json::object();
  std::string first_error;
  for (const auto& r : reports) {
    if (!r.is_object()) {
      continue;
    }
    const auto worker_statuses = r.value("statuses", json::object());
    for (const auto& [code, count] : worker_statuses.items()) {
      statuses[code] = statuses.value(code, 0ULL) + count.get<std::uint64_t>();
    }
    if (first_error.empty()) {
      first_error = r.value("first_error", "");
    }
  }
  const bool good = run.ok && ok > 0 && failed == 0;

  auto result = result_head("logins", s);
  result.update({{"users", n_users},
                 {"concurrency", concurrency},
                 {"seconds", rounded(seconds)},
                 {"logins", ok},
                 {"failed", failed},
                 {"statuses", statuses},
                 {"logins_per_s", rounded(rate, 2)},
                 {"raw_hashes_per_s", rounded(raw, 2)},
                 {"raw_before_per_s", rounded(raw_before.per_second, 2)},
                 {"raw_after_per_s", rounded(raw_after.per_second, 2)},
                 {"hash_threads", raw_before.threads},
                 {"ratio", rounded(ratio, 3)},
                 {"latency_ms", latency},
                 {"processes", procs},
                 {"ok", good}});
  if (!run.ok) {
    result["error"] = run.error;
  }
  if (!first_error.empty()) {
    result["first_error"] = first_error;
  }
  print_report("logins (" + s.label + "): " + std::to_string(concurrency) + " in flight, " +
                 std::to_string(n_users) + " users",
               {{"logins ok / failed", fmt(ok) + " / " + fmt(failed)},
                {"logins/s", fmt(rate, 1)},
                {"raw Argon2id verifies/s (" + std::to_string(raw_before.threads) + " threads)",
                 fmt(raw, 1) + " (before " + fmt(raw_before.per_second, 1) + ", after " +
                   fmt(raw_after.per_second, 1) + ")"},
                {"logins / raw", fmt(ratio * 100, 1) + " %"},
                {"login latency", fmt_latency(latency)}},
               result);
  return good ? 0 : 1;
}

} // namespace bench
