// Scenario 6, presence: N users connect while S subscribers watch presence;
// deliveries per second, whether every change reached every subscriber, and
// how the time grows from N to 2N users.
//
// Phases, every process in step (barriers):
//   1. the S subscribers connect, then subscribe; a quiet moment lets stray
//      changes (the subscribers' own joins) pass, then counts are reset;
//   2. "N": users 1..N connect; done when every subscriber has seen N
//      "online" changes; timed from the start to the last delivery;
//   3. users 1..N disconnect; every subscriber must see N "offline";
//   4. "2N": users 1..2N connect (1..N again, sessions still live); done at
//      2N "online" per subscriber.
// Deliveries are counted at the subscribers, so all of them are real frames
// read off real sockets. Tokens needed: S + 2N.

#include "clock.hpp"
#include "connector.hpp"
#include "report.hpp"
#include "run_settings.hpp"
#include "scenarios.hpp"
#include "workers.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace bench {

namespace {

/// A phase's outcome in one worker.
struct phase_result {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::uint64_t delivered = 0;
  bool complete = false;
  bool ended = false;

  json to_json() const {
    return {{"start_ns", start_ns}, {"end_ns", end_ns}, {"delivered", delivered}, {"complete", complete}};
  }
};

/// Counts presence changes at this worker's subscribers.
class subscribers final : public ws_listener {
public:
  explicit subscribers(std::size_t count) : online_(count, 0), offline_(count, 0) {}

  /// Zeroes the counts; `on_target` runs once every subscriber has seen
  /// `want_online` onlines and `want_offline` offlines.
  void expect(std::uint64_t want_online, std::uint64_t want_offline, std::function<void()> on_target) {
    std::fill(online_.begin(), online_.end(), 0);
    std::fill(offline_.begin(), offline_.end(), 0);
    delivered_ = 0;
    extra_ = 0;
    want_online_ = want_online;
    want_offline_ = want_offline;
    reached_ = 0;
    on_target_ = std::move(on_target);
    check_all();
  }

  /// `done` runs when every subscriber has confirmed its subscription.
  void when_subscribed(std::function<void()> done) {
    on_subscribed_ = std::move(done);
    if (subscribed_ == online_.size() && on_subscribed_) {
      auto d = std::move(on_subscribed_);
      on_subscribed_ = nullptr;
      d();
    }
  }

  void on_message(ws_client& c, const inbound& m, std::string_view) override {
    if (m.kind == inbound_kind::subscribed) {
      if (++subscribed_ == online_.size() && on_subscribed_) {
        auto d = std::move(on_subscribed_);
        on_subscribed_ = nullptr;
        d();
      }
      return;
    }
    if (m.kind != inbound_kind::presence) {
      return;
    }
    ++delivered_;
    auto& counter = m.online ? online_[c.index] : offline_[c.index];
    ++counter;
    if ((m.online && counter > want_online_) || (!m.online && counter > want_offline_)) {
      ++extra_;
    }
    if (online_[c.index] == want_online_ && offline_[c.index] >= want_offline_ && m.online) {
      reached_one();
    } else if (!m.online && offline_[c.index] == want_offline_ && online_[c.index] >= want_online_) {
      reached_one();
    }
  }

  void on_closed(ws_client& c, const close_info& info) override {
    if (!info.before_ready) {
      ++closed_;
    }
  }

  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t extra() const { return extra_; }
  std::size_t closed() const { return closed_; }
  /// Changes still missing at the subscribers for the current target.
  std::uint64_t missing() const {
    std::uint64_t m = 0;
    for (std::size_t i = 0; i < online_.size(); ++i) {
      m += online_[i] < want_online_ ? want_online_ - online_[i] : 0;
      m += offline_[i] < want_offline_ ? want_offline_ - offline_[i] : 0;
    }
    return m;
  }

private:
  void reached_one() {
    if (++reached_ == online_.size()) {
      fire();
    }
  }

  /// A worker may have no subscribers at all (S < processes): its target is met at once.
  void check_all() {
    if (online_.empty() || (want_online_ == 0 && want_offline_ == 0)) {
      reached_ = online_.size();
      fire();
    }
  }

  void fire() {
    if (on_target_) {
      auto d = std::move(on_target_);
      on_target_ = nullptr;
      d();
    }
  }

  std::vector<std::uint64_t> online_;
  std::vector<std::uint64_t> offline_;
  std::uint64_t want_online_ = 0;
  std::uint64_t want_offline_ = 0;
  std::size_t reached_ = 0;
  std::size_t subscribed_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t extra_ = 0;
  std::size_t closed_ = 0;
  std::function<void()> on_target_;
  std::function<void()> on_subscribed_;
};

/// A phase ends when both its connections are done and its deliveries are in.
struct phase_gate {
  int waiting = 2;
  std::function<void()> then;
  void one() {
    if (--waiting == 0 && then) {
      then();
    }
  }
};

} // namespace

int run_presence(const arguments& args) {
  auto specs = common_specs();
  specs.push_back({"users", "2000", "N: users that connect in the first timed phase (2N in the second)"});
  specs.push_back({"subscribers", "50", "S: connections subscribed to presence"});
  specs.push_back({"phase-timeout", "120", "seconds one phase may take before it counts as incomplete"});
  specs.push_back({"quiet-ms", "500", "pause after subscribing, before counting starts"});
  options opts("presence", specs);
  if (!opts.parse_or_help(args)) {
    return 0;
  }
  const auto n = static_cast<std::size_t>(std::max(1LL, opts.integer("users")));
  const auto subs = static_cast<std::size_t>(std::max(1LL, opts.integer("subscribers")));
  const auto phase_timeout = std::chrono::seconds(std::max(1LL, opts.integer("phase-timeout")));
  const auto quiet_ms = std::chrono::milliseconds(std::max(0LL, opts.integer("quiet-ms")));
  const auto s = read_settings(opts, subs + 2 * n);
  const auto procs = processes_for(subs + 2 * n, s.processes);

  // A phase goes on only when every worker completed the one before.
  auto hook = [](const std::string&, const std::vector<json>& payloads) {
    bool all = true;
    for (const auto& p : payloads) {
      all = all && (!p.is_object() || p.value("complete", true));
    }
    return json{{"all_complete", all}};
  };

  auto run = run_workers(procs, s.timeout, hook, [&](worker_link& link) -> json {
    boost::asio::io_context ioc{1};
    auto users = s.users;
    std::size_t sub_begin = 0, sub_end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(sub_begin, sub_end) = link.share(subs);
    std::size_t a_begin = 0, a_end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(a_begin, a_end) = link.share(n);
    std::size_t b_begin = 0, b_end = 0; // no structured binding: clang 14 cannot capture one
    std::tie(b_begin, b_end) = link.share(2 * n);
    bool timed_out = false;
    arm_deadline(ioc, s.timeout, &timed_out);

    subscribers watchers(sub_end - sub_begin);
    quiet_listener quiet;
    connector sub_conn(ioc, s.server, watchers, s.window);
    connector a_conn(ioc, s.server, quiet, s.window);
    connector b_conn(ioc, s.server, quiet, s.window);
    boost::asio::steady_timer timer(ioc);
    boost::asio::steady_timer phase_timer(ioc);
    std::vector<const std::string*> sub_tokens, a_tokens, b_tokens;
    phase_result a, closing, b;
    std::uint64_t extra = 0;
    phase_gate gate_a, gate_b;

    // Runs `on_timeout` if the phase is not over in time.
    auto guard = [&](std::function<void()> on_timeout) {
      phase_timer.expires_after(phase_timeout);
      phase_timer.async_wait([on_timeout = std::move(on_timeout)](boost::system::error_code ec) {
        if (!ec) {
          on_timeout();
        }
      });
    };

    // Meets the other workers at `barrier`; `next` runs only if every worker got there `complete`.
    auto meet = [&](const char* barrier, bool complete, std::function<void()> next) {
      link.barrier(ioc, barrier, {{"complete", complete}}, [&ioc, next = std::move(next)](json answer) {
        if (answer.value("all_complete", false) && next) {
          next();
        } else {
          ioc.stop();
        }
      });
    };

    // Ends a phase once (done or timed out) and meets the other workers at
    // `barrier`; the next phase runs only if every worker completed this one.
    auto end_phase = [&](phase_result& r, bool complete, const char* barrier, std::function<void()> next) {
      if (r.ended) {
        return;
      }
      r.ended = true;
      phase_timer.cancel();
      r.end_ns = now_ns();
      r.delivered = watchers.delivered();
      r.complete = complete && watchers.missing() == 0;
      extra += watchers.extra();
      meet(barrier, r.complete, std::move(next));
    };

    // -- phase 4: 2N users ------------------------------------------------------------
    auto phase_b = [&] {
      gate_b.then = [&] { end_phase(b, true, "done-2n", nullptr); };
      b.start_ns = now_ns();
      watchers.expect(2 * n, 0, [&] { gate_b.one(); });
      b_conn.open(b_tokens, 0, [&] { gate_b.one(); });
      guard([&] { end_phase(b, false, "done-2n", nullptr); });
    };

    // -- phase 3: the N users leave ------------------------------------------------------
    auto phase_close = [&] {
      closing.start_ns = now_ns();
      watchers.expect(0, n, [&] { end_phase(closing, true, "left-n", phase_b); });
      for (auto& c : a_conn.clients()) {
        if (c) {
          c->close(1000);
        }
      }
      guard([&] { end_phase(closing, false, "left-n", phase_b); });
    };

    // -- phase 2: N users ------------------------------------------------------------------
    auto phase_a = [&] {
      gate_a.then = [&] { end_phase(a, true, "done-n", phase_close); };
      a.start_ns = now_ns();
      watchers.expect(n, 0, [&] { gate_a.one(); });
      a_conn.open(a_tokens, 0, [&] { gate_a.one(); });
      guard([&] { end_phase(a, false, "done-n", phase_close); });
    };

    // -- phase 1: subscribers ------------------------------------------------------------------
    // Tokens: subscribers are users [0, S), the N/2N users follow from S.
    ensure_tokens(ioc, s, users, sub_begin, sub_end, [&](std::size_t) {
      ensure_tokens(ioc, s, users, subs + b_begin, subs + b_end, [&](std::size_t) {
        for (auto i = sub_begin; i < sub_end; ++i) {
          sub_tokens.push_back(&users[i].token);
        }
        for (auto i = a_begin; i < a_end; ++i) {
          a_tokens.push_back(&users[subs + i].token);
        }
        for (auto i = b_begin; i < b_end; ++i) {
          b_tokens.push_back(&users[subs + i].token);
        }
        sub_conn.open(sub_tokens, 0, [&] {
          // Every subscriber must be up, in every process, or the run ends here.
          meet("subscribers-connected", sub_conn.failed_count() == 0, [&] {
            for (auto& c : sub_conn.clients()) {
              if (c && c->ready()) {
                c->send(s.server.proto->subscribe_presence());
              }
            }
            auto subscribed = std::make_shared<bool>(false);
            guard([&, subscribed] {
              if (!*subscribed) {
                *subscribed = true;
                meet("subscribed", false, nullptr);
              }
            });
            watchers.when_subscribed([&, subscribed] {
              if (*subscribed) {
                return;
              }
              *subscribed = true;
              phase_timer.cancel();
              timer.expires_after(quiet_ms);
              timer.async_wait([&](boost::system::error_code) { meet("subscribed", true, phase_a); });
            });
          });
        });
      });
    });
    ioc.run();
    return json{{"subscribers", sub_conn.to_json()},
                {"users_n", a_conn.to_json()},
                {"users_2n", b_conn.to_json()},
                {"n", a.to_json()},
                {"leave_n", closing.to_json()},
                {"two_n", b.to_json()},
                {"extra", extra},
                {"subscribers_closed", watchers.closed()},
                {"timed_out", timed_out}};
  });

  // Phase figures over every worker: from the earliest start to the latest end.
  auto phase = [&](const std::string& key) {
    std::int64_t start = 0, end = 0;
    std::uint64_t delivered = 0;
    bool complete = run.ok;
    for (const auto& r : run.reports) {
      if (!r.is_object() || !r.contains(key)) {
        complete = false;
        continue;
      }
      const auto& p = r[key];
      auto st = p.value("start_ns", std::int64_t{0});
      start = start == 0 ? st : std::min(start, st);
      end = std::max(end, p.value("end_ns", std::int64_t{0}));
      delivered += p.value("delivered", std::uint64_t{0});
      complete = complete && p.value("complete", false);
    }
    double seconds = end > start && start > 0 ? seconds_of(end - start) : 0;
    return std::make_tuple(seconds, delivered, complete);
  };
  auto [t_n, d_n, ok_n] = phase("n");
  auto [t_leave, d_leave, ok_leave] = phase("leave_n");
  auto [t_2n, d_2n, ok_2n] = phase("two_n");
  const std::uint64_t want_n = n * subs;
  const std::uint64_t want_2n = 2 * n * subs;
  double rate_n = t_n > 0 ? static_cast<double>(d_n) / t_n : 0;
  double rate_2n = t_2n > 0 ? static_cast<double>(d_2n) / t_2n : 0;
  double growth = t_n > 0 ? t_2n / t_n : 0;
  auto extra = sum_of(run.reports, "extra");
  const bool ok = run.ok && ok_n && ok_leave && ok_2n && d_n >= want_n && d_2n >= want_2n;

  auto result = result_head("presence", s);
  result.update({{"users", n},
                 {"subscribers", subs},
                 {"n_seconds", rounded(t_n)},
                 {"n_delivered", d_n},
                 {"n_expected", want_n},
                 {"n_deliveries_per_s", rounded(rate_n, 1)},
                 {"two_n_seconds", rounded(t_2n)},
                 {"two_n_delivered", d_2n},
                 {"two_n_expected", want_2n},
                 {"two_n_deliveries_per_s", rounded(rate_2n, 1)},
                 {"deliveries_per_s", rounded(std::min(rate_n, rate_2n), 1)},
                 {"growth_2n_over_n", rounded(growth, 2)},
                 {"leave_seconds", rounded(t_leave)},
                 {"leave_delivered", d_leave},
                 {"extra", extra},
                 {"all_delivered", ok_n && ok_2n && ok_leave},
                 {"processes", procs},
                 {"ok", ok}});
  if (!run.ok) {
    result["error"] = run.error;
  }
  if (auto errors = connect_errors(run.reports); !errors.empty()) {
    result["errors"] = errors;
  }
  print_report("presence (" + s.label + "): N = " + std::to_string(n) + " users, S = " + std::to_string(subs) +
                 " subscribers",
               {{"N: time", fmt(t_n, 3) + " s"},
                {"N: delivered / expected", fmt(static_cast<double>(d_n)) + " / " + fmt(static_cast<double>(want_n))},
                {"N: deliveries/s", fmt(rate_n)},
                {"leave N: time", fmt(t_leave, 3) + " s"},
                {"2N: time", fmt(t_2n, 3) + " s"},
                {"2N: delivered / expected", fmt(static_cast<double>(d_2n)) + " / " + fmt(static_cast<double>(want_2n))},
                {"2N: deliveries/s", fmt(rate_2n)},
                {"time 2N / time N", fmt(growth, 2)},
                {"unexpected extra changes", fmt(static_cast<double>(extra))}},
               result);
  return ok ? 0 : 1;
}

} // namespace bench
