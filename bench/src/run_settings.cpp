#include "run_settings.hpp"

#include "latency_histogram.hpp"
#include "login_pool.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace bench {

std::vector<option_spec> common_specs() {
  const char* env_password = std::getenv("BENCH_PASSWORD");
  return {
    {"url", "", "the server: http://127.0.0.1:PORT or https://127.0.0.1:PORT (required)"},
    {"proto", "solod", "solod (REST + /ws) or socketio (the peers: Socket.IO v5)"},
    {"label", "", "the server's name in the results (default: the proto)"},
    {"tokens", "", "token file from `seed` (ID USERNAME TOKEN lines); without it users are logged in first"},
    {"password", env_password ? env_password : "bench-password-1", "password of every bench user (env BENCH_PASSWORD)"},
    {"user-prefix", "bench-", "user names without a token file: PREFIX000001..."},
    {"processes", "1", "client processes (raised so none holds more than 3/4 of RLIMIT_NOFILE)"},
    {"window", "256", "WebSocket handshakes in flight per process"},
    {"login-concurrency", "32", "setup logins in flight per process when tokens are missing"},
    {"timeout", "600", "hard cap on the whole run, seconds"},
    {"server-pid", "0", "the server's pid, for /proc memory figures"},
    {"urls", "", "several nodes of one cluster, comma-separated: worker w talks to the w-th (round robin; "
                 "use --processes to have one worker per node at least); default --url"},
  };
}

run_settings read_settings(const options& opts, std::size_t users_needed) {
  run_settings s;
  if (!opts.given("url")) {
    throw usage_error("--url is required");
  }
  s.url = opts.str("url");
  s.server = parse_target(s.url, opts.str("proto"));
  s.label = opts.given("label") ? opts.str("label") : std::string(s.server.proto->name());
  s.nodes = parse_targets(opts.str("urls"), opts.str("proto"), s.server);
  s.password = opts.str("password");
  s.processes = static_cast<std::size_t>(std::max(1LL, opts.integer("processes")));
  s.window = static_cast<std::size_t>(std::max(1LL, opts.integer("window")));
  s.login_concurrency = static_cast<std::size_t>(std::max(1LL, opts.integer("login-concurrency")));
  s.timeout = std::chrono::seconds(std::max(1LL, opts.integer("timeout")));
  s.server_pid = static_cast<pid_t>(opts.integer("server-pid"));
  if (opts.given("tokens")) {
    try {
      s.users = read_token_file(opts.str("tokens"));
    } catch (const std::exception& e) {
      throw usage_error(e.what());
    }
    s.tokens_given = true;
    if (s.users.size() < users_needed) {
      throw usage_error("the token file has " + std::to_string(s.users.size()) + " users; this run needs " +
                        std::to_string(users_needed) + " (seed more)");
    }
    s.users.resize(users_needed);
  } else {
    s.users = generated_users(opts.str("user-prefix"), users_needed);
  }
  return s;
}

const target& node_for(const run_settings& s, std::size_t index) {
  return s.nodes[index % s.nodes.size()];
}

nlohmann::json result_head(const std::string& scenario, const run_settings& s) {
  return {{"scenario", scenario},
          {"proto", std::string(s.server.proto->name())},
          {"label", s.label},
          {"tls", s.server.tls},
          {"nodes", s.nodes.size()}};
}

void ensure_tokens(boost::asio::io_context& ioc, const run_settings& s, std::vector<bench_user>& users,
                   std::size_t begin, std::size_t end, std::function<void(std::size_t)> done) {
  // The users still without a token, logged in once each.
  auto todo = std::make_shared<std::vector<bench_user>>();
  auto where = std::make_shared<std::vector<std::size_t>>();
  for (auto i = begin; i < end; ++i) {
    if (users[i].token.empty()) {
      todo->push_back(users[i]);
      where->push_back(i);
    }
  }
  if (todo->empty()) {
    done(0);
    return;
  }
  auto pool = std::make_shared<login_pool>(ioc, s.server, s.login_concurrency);
  auto failed = std::make_shared<std::size_t>(0);
  auto first_error = std::make_shared<std::string>();
  pool->run(
    *todo, s.password, todo->size(), 0,
    [&users, todo, where, failed, first_error](std::size_t i, login_result& r) {
      if (r.status == 200 && !r.token.empty()) {
        users[(*where)[i]].token = std::move(r.token);
      } else {
        ++*failed;
        if (first_error->empty()) {
          *first_error = r.error;
        }
      }
    },
    [pool, todo, where, failed, first_error, done = std::move(done)]() mutable {
      if (*failed > 0) {
        std::cerr << "solod-bench: " << *failed << " setup logins failed, first: " << *first_error << "\n";
      }
      auto keep = pool; // the pool lives until its last callback has returned
      done(*failed);
    });
}

void arm_deadline(boost::asio::io_context& ioc, std::chrono::seconds limit, bool* timed_out) {
  auto timer = std::make_shared<boost::asio::steady_timer>(ioc, limit);
  timer->async_wait([&ioc, timer, timed_out](boost::system::error_code ec) {
    if (!ec) {
      *timed_out = true;
      ioc.stop();
    }
  });
}

latency_histogram merged_histogram(const std::vector<nlohmann::json>& reports, const std::string& key) {
  latency_histogram h;
  for (const auto& r : reports) {
    if (r.is_object() && r.contains(key)) {
      h.merge(latency_histogram::from_json(r[key]));
    }
  }
  return h;
}

long long sum_of(const std::vector<nlohmann::json>& reports, const std::string& key) {
  long long total = 0;
  for (const auto& r : reports) {
    if (r.is_object() && r.contains(key) && r[key].is_number()) {
      total += r[key].get<long long>();
    }
  }
  return total;
}

nlohmann::json connect_errors(const std::vector<nlohmann::json>& reports) {
  auto out = nlohmann::json::array();
  auto take = [&](const nlohmann::json& obj) {
    if (!obj.is_object() || !obj.contains("errors") || !obj["errors"].is_array()) {
      return;
    }
    for (const auto& e : obj["errors"]) {
      if (out.size() < 5 && std::find(out.begin(), out.end(), e) == out.end()) {
        out.push_back(e);
      }
    }
  };
  for (const auto& r : reports) {
    take(r);
    if (r.is_object()) {
      for (const auto& [key, value] : r.items()) {
        take(value);
      }
    }
  }
  return out;
}

long long min_of(const std::vector<nlohmann::json>& reports, const std::string& key) {
  long long best = 0;
  for (const auto& r : reports) {
    if (r.is_object() && r.contains(key) && r[key].is_number()) {
      auto v = r[key].get<long long>();
      if (v != 0 && (best == 0 || v < best)) {
        best = v;
      }
    }
  }
  return best;
}

long long max_of(const std::vector<nlohmann::json>& reports, const std::string& key) {
  long long best = 0;
  for (const auto& r : reports) {
    if (r.is_object() && r.contains(key) && r[key].is_number()) {
      best = std::max(best, r[key].get<long long>());
    }
  }
  return best;
}

} // namespace bench
