#pragma once
/// @brief Test fixture: the session actors (directory, user actors, audit actor) on a real
/// CAF actor system, over a fresh SQLite database.

#include "actors/audit_actor.hpp"
#include "actors/messages.hpp"
#include "actors/session_directory.hpp"
#include "storage/session_registry.hpp"
#include "actors/user_context.hpp"
#include "config/config.hpp"
#include "storage/db_pool.hpp"
#include "storage/user_repository.hpp"
#include "support/test_database.hpp"
#include "util/clock.hpp"
#include "util/metrics.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>

namespace test_support {

/// Waits for `fut` at most `limit` (a guard, not a deadline anything depends
/// on); nothing when no answer came or the reply callback was dropped uncalled.
template <class T>
std::optional<T> wait_reply(std::future<T>& fut,
                            std::chrono::milliseconds limit = std::chrono::seconds{10}) {
  if (fut.wait_for(limit) != std::future_status::ready) {
    return std::nullopt;
  }
  try {
    return fut.get();
  } catch (const std::future_error&) {
    return std::nullopt; // broken promise: the callback was destroyed without being called
  }
}

/// A one-shot callback that fulfils a promise; a second call is counted, not thrown.
template <class T>
struct reply_slot {
  std::shared_ptr<std::promise<T>> promise = std::make_shared<std::promise<T>>();
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);

  std::function<void(const T&)> callback() const {
    return [p = promise, c = calls](const T& value) {
      if ((*c)++ == 0) {
        p->set_value(value);
      }
    };
  }
};

/// Everything the user actors need, wired like server.cpp does. Set `cfg`,
/// `retire_after` and `audit_url` as the test needs, then call start().
struct session_world {
  test_database db;
  solod::config cfg;
  solod::system_clock clk;
  /// The clock the actors read; `clk` unless a test points it elsewhere
  /// (a solod::manual_clock it owns) before start().
  const solod::clock* actor_clock = nullptr;
  solod::metrics stats;
  solod::session_registry registry;
  std::chrono::milliseconds retire_after{std::chrono::seconds{60}};
  /// Where the audit actor writes; the sessions database unless a test splits them.
  std::optional<solod::database_url> audit_url;
  /// Honour the fail_atom test hooks (failure injection).
  bool test_hooks = false;

  std::unique_ptr<solod::db_pool> pool;
  solod::user_context ctx;
  caf::actor_system_config caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor audit;
  caf::actor directory;

  session_world() {
    cfg.database.url = db.url_text;
  }

  ~session_world() { stop(); }

  session_world(const session_world&) = delete;
  session_world& operator=(const session_world&) = delete;

  void start() {
    // A generous queue wait: these tests check what the actors do, not the
    // 503 bound (e2e tests do), and a loaded CI machine may queue for seconds.
    pool = std::make_unique<solod::db_pool>(db.url, 2, 10000, std::chrono::seconds{30});
    caf_cfg.set("scheduler.max-threads", 2);
    caf_cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(caf_cfg);

    solod::audit_actor_options opts;
    opts.url = audit_url.value_or(db.url);
    opts.durability = cfg.audit.durability;
    opts.batch_max = static_cast<std::size_t>(cfg.audit.batch_max);
    opts.flush_interval = cfg.audit.flush_interval;
    opts.stats = &stats;
    audit = solod::spawn_audit_actor(*sys, opts);

    ctx.cfg = &cfg;
    ctx.clk = actor_clock ? actor_clock : &clk;
    ctx.registry = &registry;
    ctx.db = pool.get();
    ctx.audit = audit;
    ctx.stats = &stats;
    ctx.retire_after = retire_after;
    ctx.test_hooks = test_hooks;
    directory = solod::spawn_session_directory(*sys, &ctx);
  }

  /// Stops the actors first, then drains the pool (its jobs hold actor handles),
  /// then the actor system.
  void stop() {
    if (!sys) {
      return;
    }
    caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(audit, caf::exit_reason::user_shutdown);
    directory = nullptr;
    audit = nullptr;
    ctx.audit = nullptr;
    pool->stop();
    sys->await_all_actors_done();
    sys.reset();
    pool.reset();
  }

  // -- requests -------------------------------------------------------------

  std::int64_t add_user(const std::string& name) {
    solod::user_record u;
    u.username = name;
    u.password_hash = "not-a-real-hash";
    u.created_at = clk.now();
    auto stored = solod::user_repository(*db.sql).insert(u);
    REQUIRE(stored);
    return stored->id;
  }

  void send_login(std::int64_t user_id, const std::string& name, solod::login_reply reply,
                  const std::string& ip = "192.0.2.1", const std::string& ua = "test-agent") {
    caf::anon_send(directory, solod::login_atom::value,
                   solod::login_request{user_id, name, ip, ua}, std::move(reply));
  }

  std::future<solod::login_outcome> login_async(std::int64_t user_id, const std::string& name,
                                                const std::string& ip = "192.0.2.1",
                                                const std::string& ua = "test-agent") {
    reply_slot<solod::login_outcome> slot;
    send_login(user_id, name, slot.callback(), ip, ua);
    return slot.promise->get_future();
  }

  /// Logs in and waits for the answer; fails the test when none comes.
  solod::login_outcome login(std::int64_t user_id, const std::string& name,
                             const std::string& ip = "192.0.2.1",
                             const std::string& ua = "test-agent") {
    auto fut = login_async(user_id, name, ip, ua);
    auto out = wait_reply(fut);
    REQUIRE(out);
    return *out;
  }

  std::future<bool> end_async(std::int64_t user_id, const std::string& sid,
                              solod::end_reason reason = solod::end_reason::logout) {
    reply_slot<bool> slot;
    auto cb = slot.callback();
    solod::end_reply reply = [cb](bool ended) { cb(ended); };
    caf::anon_send(directory, solod::end_atom::value,
                   solod::end_request{user_id, sid, reason, "198.51.100.7", "ender-agent"},
                   std::move(reply));
    return slot.promise->get_future();
  }

  /// Ends a session and waits for the answer; fails the test when none comes.
  bool end(std::int64_t user_id, const std::string& sid,
           solod::end_reason reason = solod::end_reason::logout) {
    auto fut = end_async(user_id, sid, reason);
    auto out = wait_reply(fut);
    REQUIRE(out);
    return *out;
  }

  /// Commits everything the audit actor holds; answers how many events are left.
  std::size_t flush_audit() {
    std::optional<std::size_t> left;
    caf::scoped_actor self{*sys};
    self->request(audit, std::chrono::seconds{30}, solod::flush_atom::value,
                  solod::count_atom::value)
      .receive([&](std::size_t n) { left = n; }, [&](caf::error&) {});
    REQUIRE(left);
    return *left;
  }

  /// User actors the directory keeps alive.
  std::size_t user_actors() {
    std::optional<std::size_t> n;
    caf::scoped_actor self{*sys};
    self->request(directory, std::chrono::seconds{10}, solod::count_atom::value)
      .receive([&](std::size_t value) { n = value; }, [&](caf::error&) {});
    REQUIRE(n);
    return *n;
  }

  // -- checks on the database -------------------------------------------------

  long long live_rows(std::int64_t user_id) {
    return count_of(*db.sql,
                    "SELECT COUNT(*) FROM sessions WHERE user_id = :u AND logout_ts IS NULL",
                    {std::to_string(user_id)});
  }

  std::optional<std::string> live_row_id(std::int64_t user_id) {
    return text_of(*db.sql, "SELECT id FROM sessions WHERE user_id = :u AND logout_ts IS NULL",
                   {std::to_string(user_id)});
  }

  std::optional<std::string> end_reason_of(const std::string& sid) {
    return text_of(*db.sql, "SELECT end_reason FROM sessions WHERE id = :id", {sid});
  }

  bool is_ended_in_db(const std::string& sid) {
    return count_of(*db.sql,
                    "SELECT COUNT(*) FROM sessions WHERE id = :id AND logout_ts IS NOT NULL",
                    {sid}) == 1;
  }

  long long audit_rows(const std::string& event, const std::string& sid) {
    return count_of(*db.sql,
                    "SELECT COUNT(*) FROM login_logs WHERE event_type = :e AND session_id = :s",
                    {event, sid});
  }
};

} // namespace test_support
