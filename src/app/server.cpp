#include "app/server.hpp"

#include "app/webhook_worker.hpp"
#include "actors/actor_slot.hpp"
#include "actors/audit_actor.hpp"
#include "actors/broadcast_budget.hpp"
#include "actors/cluster_actor.hpp"
#include "actors/connection_actor.hpp"
#include "actors/presence_actor.hpp"
#include "actors/retention_actor.hpp"
#include "actors/messages.hpp"
#include "actors/online_board.hpp"
#include "actors/session_directory.hpp"
#include "storage/session_registry.hpp"
#include "actors/user_context.hpp"
#include "auth/authenticator.hpp"
#include "auth/account_lockout.hpp"
#include "auth/hashing_pool.hpp"
#include "auth/ip_rate_limiter.hpp"
#include "auth/jwt.hpp"
#include "auth/jwt_secret.hpp"
#include "auth/service_clients.hpp"
#include "auth/login_service.hpp"
#include "auth/secret_fingerprint.hpp"
#include "auth/password_hasher.hpp"
#include "net/api_router.hpp"
#include "net/connection_limiter.hpp"
#include "net/io_pool.hpp"
#include "net/listener.hpp"
#include "net/net_context.hpp"
#include "net/static_files.hpp"
#include "net/tls_context.hpp"
#include "net/ws_tracker.hpp"
#include "storage/database.hpp"
#include "storage/db_pool.hpp"
#include "storage/cluster_repository.hpp"
#include "storage/migrations.hpp"
#include "storage/news_listener.hpp"
#include "storage/session_repository.hpp"
#include "util/clock.hpp"
#include "util/logging.hpp"
#include "util/metrics.hpp"
#include "util/node_id.hpp"
#include "util/open_files.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <caf/all.hpp>
#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace solod {

namespace {

/// Why the server stops: a signal number, or directory_failed. Set once.
constexpr int directory_failed = -1;
struct stop_request {
  std::promise<int> stopped;
  std::atomic<bool> requested{false};
  void operator()(int why) {
    if (!requested.exchange(true)) {
      stopped.set_value(why);
    }
  }
};

/// SOLOD_TEST_HOOKS=1: failure injection for the end-to-end tests. Never in production.
bool test_hooks_enabled(const environment& env) {
  auto it = env.find("SOLOD_TEST_HOOKS");
  return it != env.end() && it->second == "1";
}

std::size_t core_count() {
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Raises the open-file limit as far as the system allows and says so; warns
/// when even that leaves too few descriptors for `server.max_connections`.
void prepare_open_files(const config& cfg, metrics& stats) {
  auto lim = raise_open_files_limit();
  if (!lim.error.empty()) {
    spdlog::warn("open files: cannot raise the limit: {}", lim.error);
  } else if (lim.soft != lim.soft_before) {
    spdlog::info("open files: soft limit raised from {} to {} (the hard limit)", lim.soft_before,
                 lim.soft);
  }
  stats.open_files_limit = static_cast<std::int64_t>(
    std::min<std::uint64_t>(lim.soft, std::numeric_limits<std::int64_t>::max()));
  const auto needed = static_cast<std::uint64_t>(cfg.server.max_connections) + open_files_reserve;
  if (lim.soft < needed) {
    spdlog::warn("open files: the limit is {} but server.max_connections = {} needs about {}; "
                 "raise the hard limit (systemd LimitNOFILE=, docker --ulimit nofile=)",
                 lim.soft, cfg.server.max_connections, needed);
  }
}

/// Opens the database, migrates it and reads the live sessions to restore.
std::vector<session_record> prepare_database(const database_url& url) {
  auto sql = open_database(url);
  int version = migrate(*sql, url.dialect);
  spdlog::info("database ready (schema version {})", version);
  return session_repository(*sql).load_live();
}

/// Waits until the registry is trusted (the first resync has run), at most `max`.
void wait_for_trust(const session_registry& registry, std::chrono::milliseconds max) {
  auto give_up = std::chrono::steady_clock::now() + max;
  while (!registry.trusted() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  if (!registry.trusted()) {
    spdlog::warn("cluster: not resynced after {} s; serving, tokens answer 503 until it is",
                 std::chrono::duration_cast<std::chrono::seconds>(max).count());
  }
}

/// A clean stop: this node's connections leave presence everywhere now,
/// rather than when the others find its heartbeat silent.
void leave_cluster(const database_url& url) {
  try {
    auto sql = open_database(url);
    cluster_repository(*sql).remove_node(this_node_id());
  } catch (const std::exception& e) {
    spdlog::warn("cluster: cannot remove this node: {} (the others reap it)", e.what());
  }
}

} // namespace

int run_server(const config& cfg, const environment& env) {
  try {
    setup_logging(cfg.log);
  } catch (const config_error& e) {
    std::fprintf(stderr, "solod: %s\n", e.what());
    return 2;
  }
  std::string secret;
  std::optional<service_clients> services;
  std::vector<webhook_receiver> receivers;
  std::shared_ptr<checkpoint_signer> audit_signer;
  try {
    secret = load_jwt_secret(cfg.auth, env, cfg.data_dir);
    const auto key_path = signing_key_path(cfg.audit.signing_key_file, cfg.data_dir);
    audit_signer = std::make_shared<checkpoint_signer>(audit_signing_key::load_or_create(key_path), key_path);
    services.emplace(service_clients::load(cfg.services));
    receivers = load_webhook_receivers(cfg.webhooks);
  } catch (const config_error& e) {
    spdlog::critical("{}", e.what());
    return 2;
  }

  database_url url;
  std::vector<session_record> live;
  try {
    url = database_url::from_config(cfg.database, env);
    live = prepare_database(url);
    check_jwt_secret_fingerprint(url, secret);
  } catch (const config_error& e) {
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }

  system_clock clk;
  metrics stats;
  prepare_open_files(cfg, stats);
  session_registry registry;
  if (url.dialect == sql_dialect::postgresql) {
    // Other nodes may change sessions before this one hears them: no token
    // is accepted until the news connection is up and memory resynced.
    registry.set_trusted(false);
  }
  stats.live_sessions = [&registry] { return registry.size(); };
  token_codec tokens(secret);
  secret.assign(secret.size(), '\0');

  const auto cores = core_count();
  password_hasher hasher;
  hashing_pool hashing(cores, 4096);
  db_pool db(url, static_cast<std::size_t>(cfg.database.pool_size), 20000, cfg.database.wait_timeout);
  // The cluster's own connection (presence rows, heartbeats, resyncs): a
  // burst of 19,000 connects never delays a login's queries, nor they it.
  db_pool cluster_db(url, 1, 100000, cfg.database.wait_timeout);
  stats.db_wait_timeouts = [&db] { return db.wait_timeouts(); };
  ip_rate_limiter ip_limiter(clk, cfg.limits.login_per_ip_per_minute);
  ip_rate_limiter register_limiter(clk, cfg.limits.register_per_ip_per_minute);
  // Before the actor system: a WebSocket that an actor still holds at exit
  // gives its place back to a live limiter.
  connection_limiter limiter(static_cast<std::size_t>(cfg.server.max_connections),
                             static_cast<std::size_t>(cfg.server.max_connections_per_ip),
                             cfg.server.trusted_proxies, &stats);
  account_lockout lockout(clk, cfg.limits.lockout_threshold, cfg.limits.lockout_window,
                          cfg.limits.lockout_duration);

  caf::actor_system_config caf_cfg;
  caf_cfg.set("scheduler.max-threads", cores);
  caf_cfg.set("logger.verbosity", caf::atom("quiet"));
  // After each job an idle CAF worker polls its queue 500 times with 50 us
  // sleeps (~25 ms) before it waits on a condition variable. At login rates
  // those wake-ups took ~14 % of the CPU from the hashing threads (logins
  // were 78 % of the raw Argon2id rate; without the polling 92 %), and ping
  // and connect rates were no worse without it (bench/RESULTS.md).
  caf_cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
  caf::actor_system system{caf_cfg};
  system.await_actors_before_shutdown(false);

  audit_actor_options audit_opts;
  audit_opts.url = url;
  audit_opts.durability = cfg.audit.durability;
  audit_opts.batch_max = static_cast<std::size_t>(cfg.audit.batch_max);
  audit_opts.flush_interval = cfg.audit.flush_interval;
  audit_opts.stats = &stats;
  audit_opts.legal_basis = cfg.legal_basis;
  audit_opts.signer = audit_signer;
  audit_opts.checkpoint_interval = cfg.audit.checkpoint_interval;
  auto audit = spawn_audit_actor(system, audit_opts);

  user_context uctx;
  uctx.cfg = &cfg;
  uctx.clk = &clk;
  uctx.registry = &registry;
  uctx.db = &db;
  uctx.audit = audit;
  uctx.stats = &stats;
  uctx.test_hooks = test_hooks_enabled(env);
  if (uctx.test_hooks) {
    spdlog::warn("SOLOD_TEST_HOOKS=1: failure injection is on (SIGUSR1: every user actor, "
                 "SIGUSR2: the session directory); for tests only");
  }
  // The server stops on a signal, or when the session directory fails: it is
  // the root of the session tree, and a restart rebuilds memory from the
  // database (the user actors have already dropped their sessions).
  // Shared: the directory's exit may come from any thread, even after an early return.
  auto request_stop = std::make_shared<stop_request>();
  auto directory = spawn_session_directory(system, &uctx);
  caf::actor_cast<caf::abstract_actor*>(directory)->attach_functor(
    [request_stop](const caf::error& reason) {
      if (reason && reason != caf::exit_reason::user_shutdown) {
        (*request_stop)(directory_failed);
      }
    });
  for (auto& s : live) {
    // The registry first, here, so that a restored token is accepted from the
    // first request on; the user actor then adopts the session (timers) before
    // any connection can attach (the directory gets the restores first).
    registry.put(make_live_session(s, s.last_seen));
    caf::anon_send(directory, restore_atom::value, std::move(s));
  }
  spdlog::info("restored {} live sessions", live.size());

  // The link to the other nodes (on SQLite: to the CLI beside this server).
  actor_slot presence;
  online_board online;
  cluster_options cluster_opts;
  cluster_opts.db = &cluster_db;
  cluster_opts.registry = &registry;
  cluster_opts.clk = &clk;
  cluster_opts.directory = directory;
  cluster_opts.presence = &presence;
  cluster_opts.address = cfg.server.listen;
  auto cluster = spawn_cluster_actor(system, cluster_opts);
  // Restarted if it fails; connection actors read the current one from the slot.
  supervise_presence(system, &stats, presence, uctx.test_hooks, presence_links{cluster, &online});
  cluster_news_sink news_sink(cluster, registry);
  news_listener news(url, news_sink, news_listener::timing{});
  news.start();
  spdlog::info("node {} joins the cluster", this_node_id());
  retention_options retention_opts;
  retention_opts.db = &db;
  retention_opts.clk = &clk;
  retention_opts.retention_days = cfg.audit.retention_days;
  auto retention = spawn_retention_actor(system, retention_opts);
  webhook_worker_options webhook_opts;
  webhook_opts.url = url;
  webhook_opts.receivers = std::move(receivers);
  webhook_opts.timeout = cfg.webhooks.timeout;
  webhook_opts.retry_for = cfg.webhooks.retry_for;
  webhook_opts.clk = &clk;
  webhook_opts.stats = &stats;
  webhook_worker webhooks(std::move(webhook_opts));
  webhooks.start();

  login_service logins({&cfg, &clk, &ip_limiter, &lockout, &hasher, &hashing, &db, directory,
                        audit, &stats, &register_limiter});
  authenticator auth(tokens, registry, clk);
  // A session the database confirmed before its news arrived: the user's
  // actor learns it now, as the news would tell it.
  auth.adopt = [directory](const session_record& s) {
    remote_change change;
    change.what = remote_change::kind::started;
    change.session = s;
    caf::anon_send(directory, remote_atom::value, std::move(change), applied_reply{[](bool) {}});
  };
  static_files files(cfg.server.static_dir);
  api_router router({&cfg, &clk, &logins, &auth, &tokens, &registry, &db, directory, &stats,
                     &files, &hasher, &hashing, audit, &online, &*services, audit_signer.get()});

  broadcast_budget broadcasts(clk, static_cast<std::size_t>(cfg.limits.broadcast_bytes_per_second));
  connection_context cctx;
  cctx.clk = &clk;
  cctx.auth = &auth;
  cctx.tokens = &tokens;
  cctx.max_connections_per_session = cfg.auth.max_connections_per_session;
  cctx.db = &db;
  cctx.directory = directory;
  cctx.presence = &presence;
  cctx.audit = audit;
  cctx.stats = &stats;
  cctx.broadcasts = &broadcasts;
  cctx.test_hooks = uctx.test_hooks;
  ws_tracker websockets;

  net_context nctx;
  nctx.websockets = &websockets;
  nctx.actors_system = &system;
  nctx.connections = &cctx;
  nctx.cfg = &cfg;
  nctx.router = &router;
  nctx.stats = &stats;
  nctx.proxies = proxy_trust(cfg.server.trusted_proxies);
  nctx.limiter = &limiter;
  nctx.header_timeout = cfg.server.header_timeout;
  nctx.handshake_timeout = cfg.server.handshake_timeout;
  nctx.ws_idle_timeout = cfg.server.ws_idle_timeout;
  try {
    if (cfg.server.tls != tls_mode::off) {
      nctx.tls = make_tls_context(cfg, cfg.data_dir);
    }
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }

  const auto io_threads = cfg.server.threads > 0 ? static_cast<std::size_t>(cfg.server.threads) : cores;
  // On PostgreSQL, serve only once memory has caught up with the cluster:
  // a node that answered before its first resync would answer 503 to every
  // token (a load balancer's health check sees it up; clients would not).
  // Bounded: a database out of reach leaves the node up, answering 503.
  wait_for_trust(registry, std::chrono::seconds{30});

  io_pool io{io_threads};
  auto accept = std::make_shared<listener>(io, nctx);
  try {
    accept->start(cfg.server.listen);
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
  // Signal handlers go in before readiness is announced: a supervisor may
  // signal as soon as it reads "listening on".
  boost::asio::signal_set signals(io.first(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      (*request_stop)(sig);
    }
  });

  // Test hooks only: SIGUSR1 makes every user actor throw, SIGUSR2 the directory.
  boost::asio::signal_set hook_signals(io.first());
  std::function<void()> arm_hooks = [&] {
    hook_signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) {
        return;
      }
      spdlog::warn("test hook: injecting a failure into the {}",
                   sig == SIGUSR1 ? "user actors" : "session directory");
      if (sig == SIGUSR1) {
        caf::anon_send(directory, fail_atom::value, fail_point::now);
      } else {
        caf::anon_send(directory, fail_atom::value);
      }
      arm_hooks();
    });
  };
  if (uctx.test_hooks) {
    hook_signals.add(SIGUSR1);
    hook_signals.add(SIGUSR2);
    arm_hooks();
  }

  auto ep = accept->local_endpoint();
  auto shown = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  const char* tls_text = cfg.server.tls == tls_mode::off ? "off"
                         : cfg.server.tls == tls_mode::required ? "required" : "auto";
  if (spdlog::default_logger()->should_log(spdlog::level::info)) {
    spdlog::info("listening on {}:{} (tls {})", shown, ep.port(), tls_text);
  } else {
    // Supervisors and tests wait for this line: print it whatever log.level says.
    std::printf("listening on %s:%u (tls %s)\n", shown.c_str(), ep.port(), tls_text);
    std::fflush(stdout);
  }

  io.start();

  int sig = request_stop->stopped.get_future().get();
  if (sig == directory_failed) {
    spdlog::critical("session directory failed: shutting down (exit 1); a restart restores the "
                     "live sessions from the database");
  } else {
    spdlog::info("signal {}: shutting down", sig);
  }
  accept->stop();

  // Every WebSocket hears 1001 (going away); give the close handshakes a
  // moment, then drop the peers that did not answer, so that every
  // connection actor hears its stream is gone and ends.
  auto wait_for_websockets = [&websockets](std::chrono::milliseconds max) {
    for (auto waited = std::chrono::milliseconds{0}; waited < max && websockets.size() > 0;
         waited += std::chrono::milliseconds{10}) {
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  };
  websockets.close_all(1001, "server shutting down");
  wait_for_websockets(std::chrono::milliseconds{2000});
  websockets.abort_all();
  wait_for_websockets(std::chrono::milliseconds{1000});

  // Commit what the audit actor holds before anything else goes away.
  {
    caf::scoped_actor self{system};
    self->request(audit, std::chrono::seconds(3), flush_atom::value, count_atom::value)
      .receive(
        [](std::size_t left) {
          if (left == 0) {
            spdlog::info("audit log flushed");
          } else {
            spdlog::error("audit: {} events could not be committed at shutdown", left);
          }
        },
        [](caf::error& err) { spdlog::error("audit: flush at shutdown failed"); });
    // The last rows are signed too: a checkpoint at shutdown (audit chain).
    self->request(audit, std::chrono::seconds(3), checkpoint_atom::value)
      .receive([](bool ok) { spdlog::info(ok ? "audit chain head signed" : "audit: checkpoint at shutdown failed"); },
               [](caf::error&) { spdlog::error("audit: checkpoint at shutdown failed"); });
  }
  io.stop();
  news.stop();
  webhooks.stop();
  leave_cluster(url);
  caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(audit, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(presence.get(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(retention, caf::exit_reason::user_shutdown);
  if (websockets.size() == 0) {
    system.await_all_actors_done();
  } else {
    // A stream that would not die must not keep the process: exit anyway.
    spdlog::warn("{} WebSockets still open at exit", websockets.size());
  }
  hashing.stop();
  db.stop();
  cluster_db.stop();
  spdlog::info("stopped");
  spdlog::default_logger()->flush();
  return sig == directory_failed ? 1 : 0;
}

} // namespace solod
