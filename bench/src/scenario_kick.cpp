// Scenario 4, kick: with N connections live, log K of their users in again
// and time, for each, from the login's response to the old connection's
// close frame (4001 superseded); p50/p99/max, and that every kick arrived.
//
// solod sends the kick before it answers the login, so the close frame often
// arrives first: such a kick counts as 0 ms (and is counted apart as
// "before response"). A kick is lost when no close 4001 reaches the old
// connection within --kick-timeout seconds of the response; connections
// whose users were not logged in again must stay open.
//
// Across nodes (issue 10): `--connect-urls A,B` spreads the connections over
// several nodes of one cluster (worker w connects to the w-th URL, round
// robin) and `--login-urls B,A` sends worker w's re-logins to another node, so
// every kick travels from the node that took the login to the node holding
// the connection (news over PostgreSQL). Without them everything goes to --url.

#include "clock.hpp"
#include "connector.hpp"
#include "latency_histogram.hpp"
#include "login_pool.hpp"
#include "report.hpp"
#include "run_settings.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

#include <boost/asio/steady_timer.hpp>

namespace bench {

namespace {

/// What happened to one re-logged user's old connection.
struct kick_record {
  unsigned login_status = 0;
  std::int64_t login_sent_ns = 0;
  std::int64_t login_done_ns = 0;
  std::int64_t kicked_ns = 0; ///< the "kicked" message
  std::int64_t close_ns = 0;  ///< the close frame (Socket.IO: the 41 disconnect packet)
  std::uint16_t close_code = 0;
  bool superseded = false;    ///< closed for the right reason: 4001 (Socket.IO: after "kicked")
};

/// Watches every connection: the first `targets` are to be kicked, the rest must stay.
class kick_watch final : public ws_listener {
public:
  explicit kick_watch(std::size_t targets) : records(targets) {}

  void on_message(ws_client& c, const inbound& m, std::string_view) override {
    if (c.index >= records.size()) {
      return;
    }
    auto& r = records[c.index];
    if (m.kind == inbound_kind::kicked && r.kicked_ns == 0) {
      r.kicked_ns = now_ns();
    } else if (m.kind == inbound_kind::disconnect && r.close_ns == 0) {
      // Socket.IO ends the socket with 41 (the WebSocket close that follows has no code).
      r.close_ns = now_ns();
      r.superseded = r.kicked_ns != 0;
    }
  }

  void on_closed(ws_client& c, const close_info& info) override {
    if (info.before_ready) {
      return;
    }
    if (c.index < records.size()) {
      auto& r = records[c.index];
      r.close_code = info.code;
      if (r.close_ns == 0) {
        r.close_ns = info.at_ns;
        r.superseded = info.code == 4001;
      }
    } else {
      ++collateral;
    }
  }

  std::vector<kick_record> records;
  std::size_t collateral = 0; ///< connections closed that nobody re-logged
};

} // namespace

int run_kick(const arguments& args) {
  auto specs = common_specs();
  specs.push_back({"connections", "1000", "live connections (one user each)"});
  specs.push_back({"kicks", "1000", "users logged in again (at most --connections)"});
  specs.push_back({"kick-concurrency", "4", "re-logins in flight, all processes together"});
  specs.push_back({"kick-timeout", "5", "seconds after the login response before a kick counts as lost"});
  specs.push_back({"connect-urls", "", "comma-separated nodes the connections go to, worker w to the w-th "
                                       "(round robin); default --url"});
  specs.push_back({"login-urls", "", "comma-separated nodes worker w logs in again on (round robin); "
                                     "default --url"});
  options opts("kick", specs);
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  const auto n = static_cast<std::size_t>(std::max(1LL, opts.integer("connections")));
  const auto kicks = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1LL, opts.integer("kicks"))));
  const auto kick_timeout_ns = ns_of_seconds(opts.number("kick-timeout"));
  const auto s = read_settings(opts, n);
  const auto procs = processes_for(n, s.processes);
  const auto lanes = std::max<std::size_t>(1, static_cast<std::size_t>(opts.integer("kick-concurrency")) / procs);
  const auto connect_targets = parse_targets(opts.str("connect-urls"), opts.str("proto"), s.server);
  const auto login_targets = parse_targets(opts.str("login-urls"), opts.str("proto"), s.server);

  auto run = run_workers(procs, s.timeout, nullptr, [&](worker_link& link) -> json {
    boost::asio::io_context ioc{1};
    auto users = s.users;
    std::size_t begin = 0, end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(begin, end) = link.share(n);
    std::size_t kick_begin = 0, kick_end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(kick_begin, kick_end) = link.share(kicks);
    const auto my_kicks = std::min(kick_end - kick_begin, end - begin);
    bool timed_out = false;
    arm_deadline(ioc, s.timeout, &timed_out);
    kick_watch watch(my_kicks);
    const auto& connect_to = connect_targets[link.index() % connect_targets.size()];
    const auto& login_to = login_targets[link.index() % login_targets.size()];
    connector conn(ioc, connect_to, watch, s.window);
    login_pool pool(ioc, login_to, lanes);
    boost::asio::steady_timer timer(ioc);
    std::vector<const std::string*> tokens;
    std::vector<bench_user> targets;
    std::int64_t last_response_ns = 0;
    std::function<void()> wait_for_closes;

    // Every answered login whose old connection has closed, or the timeout.
    wait_for_closes = [&] {
      bool all = true;
      for (const auto& r : watch.records) {
        all = all && (r.login_status != 200 || r.close_ns != 0);
      }
      if (all || now_ns() > last_response_ns + kick_timeout_ns) {
        link.barrier(ioc, "done", {}, [&](json) { ioc.stop(); });
        return;
      }
      timer.expires_after(std::chrono::milliseconds(20));
      timer.async_wait([&](boost::system::error_code) { wait_for_closes(); });
    };

    ensure_tokens(ioc, s, users, begin, end, [&](std::size_t) {
      for (auto i = begin; i < end; ++i) {
        tokens.push_back(&users[i].token);
      }
      conn.open(tokens, 0, [&] {
        link.barrier(ioc, "live", {}, [&](json) {
          // The first my_kicks users of this worker's share log in again.
          for (std::size_t i = 0; i < my_kicks; ++i) {
            targets.push_back(users[begin + i]);
          }
          pool.run(
            targets, s.password, targets.size(), 0,
            [&](std::size_t i, login_result& r) {
              auto& rec = watch.records[i];
              rec.login_status = r.status;
              rec.login_sent_ns = r.sent_ns;
              rec.login_done_ns = r.done_ns;
              last_response_ns = std::max(last_response_ns, r.done_ns);
            },
            [&] { wait_for_closes(); });
        });
      });
    });
    ioc.run();

    latency_histogram after_response;
    latency_histogram after_request;
    std::size_t arrived = 0, lost = 0, wrong_code = 0, login_failed = 0, before_response = 0,
                not_live = 0, kicked_msgs = 0;
    for (std::size_t i = 0; i < watch.records.size(); ++i) {
      const auto& r = watch.records[i];
      const auto& c = conn.clients()[i];
      if (!c || !c->ready()) {
        ++not_live; // never connected: nothing to kick
        continue;
      }
      if (r.login_status != 200) {
        ++login_failed;
        continue;
      }
      kicked_msgs += r.kicked_ns != 0 ? 1 : 0;
      if (r.close_ns == 0) {
        ++lost;
      } else if (!r.superseded) {
        ++wrong_code;
      } else {
        ++arrived;
        before_response += r.close_ns < r.login_done_ns ? 1 : 0;
        after_response.record(r.close_ns - r.login_done_ns);
        after_request.record(r.close_ns - r.login_sent_ns);
      }
    }
    return json{{"kicks", watch.records.size()},   {"arrived", arrived},
                {"lost", lost},                    {"wrong_code", wrong_code},
                {"login_failed", login_failed},    {"not_live", not_live},
                {"before_response", before_response}, {"kicked_messages", kicked_msgs},
                {"collateral", watch.collateral},  {"after_response", after_response.to_json()},
                {"after_request", after_request.to_json()}, {"connect", conn.to_json()},
                {"timed_out", timed_out}};
  });

  const auto& reports = run.reports;
  long long ready = 0;
  for (const auto& r : reports) {
    if (r.is_object() && r.contains("connect")) {
      ready += r["connect"].value("ready", 0LL);
    }
  }
  auto arrived = sum_of(reports, "arrived");
  auto lost = sum_of(reports, "lost");
  auto wrong_code = sum_of(reports, "wrong_code");
  auto login_failed = sum_of(reports, "login_failed");
  auto collateral = sum_of(reports, "collateral");
  auto before_response = sum_of(reports, "before_response");
  auto latency = merged_histogram(reports, "after_response").summary_ms();
  auto from_request = merged_histogram(reports, "after_request").summary_ms();
  const bool ok = run.ok && ready == static_cast<long long>(n) && arrived == static_cast<long long>(kicks) &&
                  lost == 0 && wrong_code == 0 && collateral == 0;

  auto result = result_head("kick", s);
  result.update({{"connections", n},
                 {"ready", ready},
                 {"kicks", kicks},
                 {"arrived", arrived},
                 {"lost", lost},
                 {"wrong_code", wrong_code},
                 {"login_failed", login_failed},
                 {"collateral", collateral},
                 {"before_response", before_response},
                 {"latency_ms", latency},
                 {"from_request_ms", from_request},
                 {"processes", procs},
                 {"connect_urls", opts.str("connect-urls")},
                 {"login_urls", opts.str("login-urls")},
                 {"ok", ok}});
  if (!run.ok) {
    result["error"] = run.error;
  }
  if (auto errors = connect_errors(reports); !errors.empty()) {
    result["errors"] = errors;
  }
  print_report("kick (" + s.label + "): " + std::to_string(kicks) + " re-logins with " + std::to_string(n) +
                 " connections live",
               {{"connections ready", fmt(ready)},
                {"kicks arrived / asked", fmt(arrived) + " / " + fmt(kicks)},
                {"lost / wrong code", fmt(lost) + " / " + fmt(wrong_code)},
                {"login failures", fmt(login_failed)},
                {"others closed (must be 0)", fmt(collateral)},
                {"close before login response", fmt(before_response)},
                {"response -> close frame", fmt_latency(latency)},
                {"request -> close frame", fmt_latency(from_request)}},
               result);
  return ok ? 0 : 1;
}

} // namespace bench
