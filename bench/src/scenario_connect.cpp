// Scenario 2, connect: WebSocket connect + token authentication + welcome per second.
//
// Each worker opens its share of N connections, at most --window handshakes
// in flight, and keeps them open until every worker is done (so the server
// carries all of them at the end, as it would in life). The rate is ready
// connections over the time from the first start to the last welcome, all
// processes together.
//
// --subscribe: each connection subscribes to presence once ready, so that a
// `/ws` run carries the fan-out every Socket.IO socket gets unasked (SPEC
// §8: user_status and user_count on each change): the like-for-like `/ws`
// figure for `/socket.io/`.

#include "clock.hpp"
#include "connector.hpp"
#include "report.hpp"
#include "run_settings.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

namespace bench {

int run_connect(const arguments& args) {
  auto specs = common_specs();
  specs.push_back({"connections", "1000", "connections to open (one token each)"});
  specs.push_back({"subscribe", "", "each connection subscribes to presence once ready", true});
  options opts("connect", specs);
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  const auto n = static_cast<std::size_t>(std::max(1LL, opts.integer("connections")));
  const auto s = read_settings(opts, n);
  const auto procs = processes_for(n, s.processes);

  auto run = run_workers(procs, s.timeout, nullptr, [&](worker_link& link) -> json {
    boost::asio::io_context ioc{1};
    auto users = s.users;
    std::size_t begin = 0, end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(begin, end) = link.share(n);
    bool timed_out = false;
    arm_deadline(ioc, s.timeout, &timed_out);
    quiet_listener quiet;
    subscribing_listener subscriber(*node_for(s, link.index()).proto);
    ws_listener& listener = opts.flag("subscribe") ? static_cast<ws_listener&>(subscriber) : quiet;
    connector conn(ioc, node_for(s, link.index()), listener, s.window);
    std::vector<const std::string*> tokens;
    json out;
    ensure_tokens(ioc, s, users, begin, end, [&](std::size_t) {
      link.barrier(ioc, "start", {}, [&](json) {
        for (auto i = begin; i < end; ++i) {
          tokens.push_back(&users[i].token);
        }
        conn.open(tokens, 0, [&] {
          out = conn.to_json();
          link.barrier(ioc, "connected", {}, [&](json) { ioc.stop(); });
        });
      });
    });
    ioc.run();
    if (out.is_null()) {
      out = conn.to_json();
    }
    out["timed_out"] = timed_out;
    return out;
  });

  const auto& reports = run.reports;
  auto ready = sum_of(reports, "ready");
  auto failed = sum_of(reports, "failed");
  auto dropped = sum_of(reports, "dropped");
  auto span_ns = max_of(reports, "last_ready_ns") - min_of(reports, "first_start_ns");
  double seconds = span_ns > 0 ? seconds_of(span_ns) : 0;
  double rate = seconds > 0 ? static_cast<double>(ready) / seconds : 0;
  auto latency = merged_histogram(reports, "latency").summary_ms();
  auto errors = connect_errors(reports);
  const bool ok = run.ok && ready == static_cast<long long>(n);

  auto result = result_head("connect", s);
  result.update({{"connections", n},
                 {"subscribe", opts.flag("subscribe")},
                 {"ready", ready},
                 {"failed", failed},
                 {"dropped", dropped},
                 {"seconds", rounded(seconds)},
                 {"connects_per_s", rounded(rate, 1)},
                 {"latency_ms", latency},
                 {"processes", procs},
                 {"window", s.window},
                 {"ok", ok}});
  if (!run.ok) {
    result["error"] = run.error;
  }
  if (!errors.empty()) {
    result["errors"] = errors;
  }
  print_report("connect (" + s.label + (s.server.tls ? ", TLS" : "") + "): " + std::to_string(n) + " connections",
               {{"ready / failed", fmt(ready) + " / " + fmt(failed)},
                {"time", fmt(seconds, 3) + " s"},
                {"connect + auth + welcome", fmt(rate) + " /s"},
                {"handshake latency", fmt_latency(latency)},
                {"processes x window", std::to_string(procs) + " x " + std::to_string(s.window)}},
               result);
  return ok ? 0 : 1;
}

} // namespace bench
