// Scenario 5, ping: application ping/pong round trips per second across many
// connections (1,000 by default).
//
// Once every worker's connections are up, each connection keeps --depth
// pings in flight for --duration seconds: a pong is timed against its ping
// and answered by the next ping. Round trips completed inside the window
// count. solod: {"type":"ping","id":n} -> {"type":"pong"}; Socket.IO (the peers and solod's /socket.io/):
// 42["ping_manual",{"id":n}] -> 42["pong_manual",..].

#include "clock.hpp"
#include "connector.hpp"
#include "latency_histogram.hpp"
#include "report.hpp"
#include "run_settings.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

#include <boost/asio/steady_timer.hpp>

#include <deque>

namespace bench {

namespace {

/// Keeps `depth` pings in flight on every connection until `end_ns`.
class ping_loop final : public ws_listener {
public:
  ping_loop(const protocol& proto, std::size_t connections, std::size_t depth)
    : proto_(proto), sent_(connections), depth_(depth) {}

  void start(std::vector<std::shared_ptr<ws_client>>& clients, std::int64_t end_ns) {
    start_ns_ = now_ns();
    end_ns_ = end_ns;
    for (auto& c : clients) {
      if (c && c->ready() && !c->closed()) {
        for (std::size_t d = 0; d < depth_; ++d) {
          send_ping(*c);
        }
      }
    }
  }

  void on_message(ws_client& c, const inbound& m, std::string_view) override {
    if (m.kind == inbound_kind::pong) {
      auto& q = sent_[c.index];
      if (q.empty()) {
        ++unexpected_;
        return;
      }
      auto now = now_ns();
      auto sent = q.front();
      q.pop_front();
      if (now <= end_ns_) {
        ++round_trips_;
        latency_.record(now - sent);
        last_ns_ = now;
      }
      send_ping(c);
    } else if (m.kind == inbound_kind::error) {
      ++errors_;
    }
  }

  void on_closed(ws_client& c, const close_info& info) override {
    if (!info.before_ready) {
      ++closed_;
      if (close_codes_.size() < 5) {
        close_codes_.push_back(info.code);
      }
    }
  }

  json to_json() const {
    return {{"round_trips", round_trips_}, {"errors", errors_},        {"closed", closed_},
            {"unexpected", unexpected_},   {"start_ns", start_ns_},    {"end_ns", end_ns_},
            {"latency", latency_.to_json()}, {"close_codes", close_codes_}};
  }

private:
  void send_ping(ws_client& c) {
    auto now = now_ns();
    if (now >= end_ns_ || c.closed()) {
      return;
    }
    sent_[c.index].push_back(now);
    c.send(proto_.ping(next_id_++));
  }

  const protocol& proto_;
  std::vector<std::deque<std::int64_t>> sent_;
  std::size_t depth_;
  long long next_id_ = 1;
  std::int64_t start_ns_ = 0;
  std::int64_t end_ns_ = 0;
  std::int64_t last_ns_ = 0;
  std::uint64_t round_trips_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t closed_ = 0;
  std::uint64_t unexpected_ = 0;
  std::vector<int> close_codes_;
  latency_histogram latency_;
};

} // namespace

int run_ping(const arguments& args) {
  auto specs = common_specs();
  specs.push_back({"connections", "1000", "connections pinging at once"});
  specs.push_back({"duration", "10", "seconds of pinging"});
  specs.push_back({"depth", "1", "pings in flight per connection"});
  options opts("ping", specs);
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  const auto n = static_cast<std::size_t>(std::max(1LL, opts.integer("connections")));
  const double duration = opts.number("duration");
  const auto depth = static_cast<std::size_t>(std::max(1LL, opts.integer("depth")));
  const auto s = read_settings(opts, n);
  const auto procs = processes_for(n, s.processes);

  auto run = run_workers(procs, s.timeout, nullptr, [&](worker_link& link) -> json {
    boost::asio::io_context ioc{1};
    auto users = s.users;
    std::size_t begin = 0, end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(begin, end) = link.share(n);
    bool timed_out = false;
    arm_deadline(ioc, s.timeout, &timed_out);
    ping_loop pings(*s.server.proto, end - begin, depth);
    connector conn(ioc, s.server, pings, s.window);
    boost::asio::steady_timer timer(ioc);
    std::vector<const std::string*> tokens;
    ensure_tokens(ioc, s, users, begin, end, [&](std::size_t) {
      for (auto i = begin; i < end; ++i) {
        tokens.push_back(&users[i].token);
      }
      conn.open(tokens, 0, [&] {
        link.barrier(ioc, "connected", {}, [&](json) {
          auto end_ns = now_ns() + ns_of_seconds(duration);
          pings.start(conn.clients(), end_ns);
          // Late pongs get a second to arrive; they are not counted.
          timer.expires_after(std::chrono::milliseconds(static_cast<long long>(duration * 1000) + 1000));
          timer.async_wait([&](boost::system::error_code) {
            link.barrier(ioc, "done", {}, [&](json) { ioc.stop(); });
          });
        });
      });
    });
    ioc.run();
    auto out = pings.to_json();
    out["connect"] = conn.to_json();
    out["timed_out"] = timed_out;
    return out;
  });

  const auto& reports = run.reports;
  auto round_trips = sum_of(reports, "round_trips");
  auto errors = sum_of(reports, "errors");
  auto closed = sum_of(reports, "closed");
  long long ready = 0;
  for (const auto& r : reports) {
    if (r.is_object() && r.contains("connect")) {
      ready += r["connect"].value("ready", 0LL);
    }
  }
  auto span_ns = max_of(reports, "end_ns") - min_of(reports, "start_ns");
  double seconds = span_ns > 0 ? seconds_of(span_ns) : duration;
  double rate = seconds > 0 ? static_cast<double>(round_trips) / seconds : 0;
  auto latency = merged_histogram(reports, "latency").summary_ms();
  const bool ok = run.ok && ready == static_cast<long long>(n) && closed == 0;

  auto result = result_head("ping", s);
  result.update({{"connections", n},
                 {"ready", ready},
                 {"depth", depth},
                 {"seconds", rounded(seconds)},
                 {"round_trips", round_trips},
                 {"round_trips_per_s", rounded(rate, 1)},
                 {"latency_ms", latency},
                 {"errors", errors},
                 {"closed", closed},
                 {"processes", procs},
                 {"ok", ok}});
  if (!run.ok) {
    result["error"] = run.error;
  }
  if (auto errors = connect_errors(reports); !errors.empty()) {
    result["errors"] = errors;
  }
  print_report("ping (" + s.label + (s.server.tls ? ", TLS" : "") + "): " + std::to_string(n) +
                 " connections x depth " + std::to_string(depth),
               {{"connections ready", fmt(ready)},
                {"round trips", fmt(round_trips)},
                {"round trips/s", fmt(rate)},
                {"round-trip latency", fmt_latency(latency)},
                {"errors / closed", fmt(errors) + " / " + fmt(closed)}},
               result);
  return ok ? 0 : 1;
}

} // namespace bench
