// Scenario 3, hold: N authenticated idle connections; the server's resident
// memory per connection, from /proc (plain, or TLS with an https:// URL).
//
// The parent reads the server's RSS (its process tree, for peers under a
// shell) when every worker is about to connect, and again --settle-seconds
// after every connection is up; the difference over the connections is the
// cost of one. The connections are then held --hold-seconds more (the
// server's keep-alive pings are answered) and any that drop are counted.

#include "clock.hpp"
#include "connector.hpp"
#include "process_memory.hpp"
#include "report.hpp"
#include "run_settings.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

#include <boost/asio/steady_timer.hpp>

#include <thread>

namespace bench {

int run_hold(const arguments& args) {
  auto specs = common_specs();
  specs.push_back({"connections", "1000", "connections to open and hold"});
  specs.push_back({"settle-seconds", "3", "wait after the last welcome before reading RSS"});
  specs.push_back({"hold-seconds", "10", "keep the connections this long after measuring"});
  specs.push_back({"subscribe", "", "each connection subscribes to presence once ready", true});
  options opts("hold", specs);
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  const auto n = static_cast<std::size_t>(std::max(1LL, opts.integer("connections")));
  const auto s = read_settings(opts, n);
  if (s.server_pid <= 0 || !tree_rss_bytes(s.server_pid)) {
    throw usage_error("hold: --server-pid must name the running server");
  }
  const double settle = opts.number("settle-seconds");
  const auto hold = std::chrono::milliseconds(static_cast<long long>(opts.number("hold-seconds") * 1000));
  const auto procs = processes_for(n, s.processes);

  std::uint64_t rss_before = 0;
  std::uint64_t rss_held = 0;
  std::uint64_t rss_end = 0;
  auto hook = [&](const std::string& name, const std::vector<json>&) -> json {
    if (name == "start") {
      rss_before = settled_tree_rss_bytes(s.server_pid, std::chrono::seconds(15)).value_or(0);
    } else if (name == "held") {
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long long>(settle * 1000)));
      rss_held = tree_rss_bytes(s.server_pid).value_or(0);
    } else if (name == "end") {
      rss_end = tree_rss_bytes(s.server_pid).value_or(0);
    }
    return json::object();
  };

  auto run = run_workers(procs, s.timeout, hook, [&](worker_link& link) -> json {
    boost::asio::io_context ioc{1};
    auto users = s.users;
    std::size_t begin = 0, end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(begin, end) = link.share(n);
    bool timed_out = false;
    arm_deadline(ioc, s.timeout, &timed_out);
    quiet_listener quiet;
    subscribing_listener subscriber(*s.server.proto);
    ws_listener& listener = opts.flag("subscribe") ? static_cast<ws_listener&>(subscriber) : quiet;
    connector conn(ioc, s.server, listener, s.window);
    boost::asio::steady_timer timer(ioc);
    std::vector<const std::string*> tokens;
    std::size_t dropped_while_measured = 0;
    ensure_tokens(ioc, s, users, begin, end, [&](std::size_t) {
      link.barrier(ioc, "start", {}, [&](json) {
        for (auto i = begin; i < end; ++i) {
          tokens.push_back(&users[i].token);
        }
        conn.open(tokens, 0, [&] {
          link.barrier(ioc, "held", {}, [&](json) {
            dropped_while_measured = conn.dropped_count();
            timer.expires_after(hold);
            timer.async_wait([&](boost::system::error_code) {
              link.barrier(ioc, "end", {}, [&](json) { ioc.stop(); });
            });
          });
        });
      });
    });
    ioc.run();
    auto out = conn.to_json();
    out["dropped_before_measure"] = dropped_while_measured;
    out["timed_out"] = timed_out;
    return out;
  });

  const auto& reports = run.reports;
  auto ready = sum_of(reports, "ready");
  auto failed = sum_of(reports, "failed");
  auto dropped = sum_of(reports, "dropped");
  auto alive_at_measure = ready - sum_of(reports, "dropped_before_measure");
  double per_conn = alive_at_measure > 0 && rss_held > rss_before
                      ? static_cast<double>(rss_held - rss_before) / static_cast<double>(alive_at_measure)
                      : 0;
  const bool ok = run.ok && ready == static_cast<long long>(n) && dropped == 0;

  auto result = result_head("hold", s);
  result.update({{"connections", n},
                 {"subscribe", opts.flag("subscribe")},
                 {"ready", ready},
                 {"failed", failed},
                 {"dropped", dropped},
                 {"rss_before_kib", rss_before / 1024},
                 {"rss_held_kib", rss_held / 1024},
                 {"rss_end_kib", rss_end / 1024},
                 {"bytes_per_connection", rounded(per_conn, 0)},
                 {"kib_per_connection", rounded(per_conn / 1024, 2)},
                 {"hold_seconds", opts.number("hold-seconds")},
                 {"processes", procs},
                 {"ok", ok}});
  if (!run.ok) {
    result["error"] = run.error;
  }
  if (auto errors = connect_errors(reports); !errors.empty()) {
    result["errors"] = errors;
  }
  print_report("hold (" + s.label + (s.server.tls ? ", TLS" : "") + "): " + std::to_string(n) + " idle connections",
               {{"ready / failed", fmt(ready) + " / " + fmt(failed)},
                {"dropped while held", fmt(dropped)},
                {"server RSS before", fmt(rss_before / 1024.0) + " KiB"},
                {"server RSS held", fmt(rss_held / 1024.0) + " KiB"},
                {"server RSS at end", fmt(rss_end / 1024.0) + " KiB"},
                {"per connection", fmt(per_conn / 1024, 2) + " KiB"}},
               result);
  return ok ? 0 : 1;
}

} // namespace bench
