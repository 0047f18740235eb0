// The audit actor on a real actor system and a real SQLite database: group
// commit in bounded batches, answers only after the commit, and a database
// failure that is survived and retried.

#include "actors/audit_actor.hpp"
#include "actors/messages.hpp"
#include "storage/audit_verifier.hpp"
#include "support/test_database.hpp"
#include "util/metrics.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>

using namespace std::chrono_literals;
using solod::audit_event;
using test_support::count_of;
using test_support::eventually;

namespace {

audit_event make_event(int i, const std::string& type = "login_success") {
  audit_event e;
  e.timestamp = std::chrono::system_clock::now();
  e.event_type = type;
  e.user_id = i;
  e.username = "user" + std::to_string(i);
  e.session_id = "s" + std::to_string(i);
  e.ip_address = "192.0.2.1";
  e.user_agent = "test";
  return e;
}

/// The cumulative count of histogram bucket `le`, read from its Prometheus rendering.
std::uint64_t bucket_count(const solod::histogram& h, const std::string& le) {
  std::string text;
  h.render(text, "h");
  auto key = "h_bucket{le=\"" + le + "\"} ";
  auto pos = text.find(key);
  REQUIRE(pos != std::string::npos);
  return std::stoull(text.substr(pos + key.size()));
}

/// An audit actor over its own database.
struct audit_world {
  test_support::test_database db;
  solod::metrics stats;
  caf::actor_system_config caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor audit;

  audit_world() {
    caf_cfg.set("scheduler.max-threads", 2);
    caf_cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(caf_cfg);
  }

  ~audit_world() {
    caf::anon_send_exit(audit, caf::exit_reason::user_shutdown);
    audit = nullptr;
    sys->await_all_actors_done();
  }

  /// Spawns the actor; `opts.url` defaults to this world's database.
  void start(solod::audit_actor_options opts) {
    if (opts.url.target.empty()) {
      opts.url = db.url;
    }
    opts.stats = &stats;
    audit = solod::spawn_audit_actor(*sys, opts);
  }

  std::size_t flush() {
    std::optional<std::size_t> left;
    caf::scoped_actor self{*sys};
    self->request(audit, 30s, solod::flush_atom::value, solod::count_atom::value)
      .receive([&](std::size_t n) { left = n; }, [&](caf::error&) {});
    REQUIRE(left);
    return *left;
  }

  /// Sends `(commit_atom, e)` from a thread of its own, so the caller can
  /// watch whether the answer has come without blocking on it.
  std::future<std::optional<bool>> commit_async(audit_event e) {
    return std::async(std::launch::async, [this, e = std::move(e)]() mutable {
      std::optional<bool> answer;
      caf::scoped_actor self{*sys};
      self->request(audit, 30s, solod::commit_atom::value, std::move(e))
        .receive([&](bool ok) { answer = ok; }, [&](caf::error&) {});
      return answer;
    });
  }

  long long rows(const std::string& type) {
    return count_of(*db.sql, "SELECT COUNT(*) FROM login_logs WHERE event_type = :t", {type});
  }
};

} // namespace

TEST_CASE("audit events are committed in batches of at most batch_max", "[actors]") {
  audit_world w;
  solod::audit_actor_options opts;
  opts.durability = solod::audit_durability::commit;
  opts.batch_max = 256;
  w.start(opts);

  constexpr int total = 5000;
  {
    // Hold the write lock while sending, so all 5,000 events are in the
    // mailbox before the first commit ends: how the batches fall then does not
    // depend on how fast this thread sends.
    test_support::write_blocker blocker(w.db);
    for (int i = 0; i < total; ++i) {
      caf::anon_send(w.audit, solod::audit_atom::value, make_event(i, "batched"));
    }
  }
  REQUIRE(w.flush() == 0);

  CHECK(w.rows("batched") == total);
  CHECK(w.stats.audit_events_committed.load() == total);
  CHECK(w.stats.audit_queue_depth.load() == 0);

  auto transactions = w.stats.audit_batch_size.count();
  CHECK(transactions < 500);
  CHECK(transactions >= (total + 255) / 256);
  // Every batch falls in a bucket up to 256.
  CHECK(bucket_count(w.stats.audit_batch_size, "256") == transactions);
  CHECK(w.stats.audit_commit_seconds.count() == transactions);

  // The rows keep their order and their fields.
  CHECK(count_of(*w.db.sql, "SELECT COUNT(DISTINCT session_id) FROM login_logs WHERE "
                            "event_type = 'batched'") == total);
  CHECK(test_support::text_of(*w.db.sql,
                              "SELECT username FROM login_logs WHERE event_type = 'batched' "
                              "ORDER BY id LIMIT 1") == "user0");
  CHECK(test_support::text_of(*w.db.sql,
                              "SELECT username FROM login_logs WHERE event_type = 'batched' "
                              "ORDER BY id DESC LIMIT 1") == "user4999");
}

TEST_CASE("a commit request is answered only after its event is committed", "[actors]") {
  audit_world w;
  w.start({});

  test_support::write_blocker blocker(w.db);
  auto fut = w.commit_async(make_event(1, "awaited"));
  // While another connection holds the write lock nothing can be committed,
  // so a correct actor stays silent however long we look.
  CHECK(fut.wait_for(300ms) == std::future_status::timeout);
  CHECK(w.rows("awaited") == 0);

  blocker.release();
  REQUIRE(fut.wait_for(30s) == std::future_status::ready);
  auto answer = fut.get();
  REQUIRE(answer);
  CHECK(*answer);
  CHECK(w.rows("awaited") == 1);
}

TEST_CASE("an unusable database answers false, withdraws that event and keeps plain ones",
          "[actors]") {
  test_support::temp_dir dir;
  { std::ofstream(dir.path() + "/plain-file") << "x"; }
  audit_world w;
  solod::audit_actor_options opts;
  // Its directory would have to be created under a regular file: cannot be opened.
  opts.url = solod::database_url::parse("sqlite3://" + dir.path() + "/plain-file/a.db");
  w.start(opts);

  auto fut = w.commit_async(make_event(1));
  REQUIRE(fut.wait_for(30s) == std::future_status::ready);
  auto answer = fut.get();
  REQUIRE(answer);
  CHECK_FALSE(*answer);

  // "false" means never written: the refused event is not held for a retry.
  CHECK(w.stats.audit_queue_depth.load() == 0);
  CHECK(w.stats.audit_commit_failures.load() > 0);
  CHECK(w.stats.audit_events_committed.load() == 0);

  // Still alive and answering; a plain event is held for the retry.
  caf::anon_send(w.audit, solod::audit_atom::value, make_event(2));
  CHECK(w.flush() == 1);

  // A second commit while retrying is refused at once, not left hanging.
  auto again = w.commit_async(make_event(3));
  REQUIRE(again.wait_for(30s) == std::future_status::ready);
  auto second = again.get();
  REQUIRE(second);
  CHECK_FALSE(*second);
}

TEST_CASE("held events are committed once the database comes back", "[actors]") {
  test_support::temp_dir dir;
  const auto blocked_dir = dir.path() + "/db";
  { std::ofstream(blocked_dir) << "x"; }
  audit_world w;
  solod::audit_actor_options opts;
  opts.url = solod::database_url::parse("sqlite3://" + blocked_dir + "/a.db");
  w.start(opts);

  auto fut = w.commit_async(make_event(1, "refused"));
  REQUIRE(fut.wait_for(30s) == std::future_status::ready);
  REQUIRE(fut.get() == std::optional<bool>{false});
  caf::anon_send(w.audit, solod::audit_atom::value, make_event(2, "held"));
  caf::anon_send(w.audit, solod::audit_atom::value, make_event(3, "held"));

  // The database comes back: the path becomes a directory with a migrated database.
  std::filesystem::remove(blocked_dir);
  {
    auto sql = solod::open_database(opts.url);
    solod::migrate(*sql, opts.url.dialect);
  }
  auto sql = solod::open_database(opts.url);
  // The retry backoff doubles up to 5 s; the bound only guards against a hang.
  CHECK(eventually(
    [&] {
      return count_of(*sql, "SELECT COUNT(*) FROM login_logs WHERE event_type = 'held'") == 2;
    },
    30s));
  CHECK(eventually([&] { return w.stats.audit_queue_depth.load() == 0; }));
  CHECK(w.flush() == 0);
  // The commit that was answered "false" stays unwritten.
  CHECK(count_of(*sql, "SELECT COUNT(*) FROM login_logs WHERE event_type = 'refused'") == 0);
}

TEST_CASE("a kept event with a callback hears true after its commit", "[actors]") {
  audit_world w;
  w.start({});
  test_support::write_blocker blocker(w.db);
  std::promise<bool> heard;
  solod::end_reply on_commit = [&heard](bool ok) { heard.set_value(ok); };
  caf::anon_send(w.audit, solod::audit_atom::value, make_event(1, "kept"), on_commit);
  auto fut = heard.get_future();
  // Not before the commit: the write lock is held elsewhere.
  CHECK(fut.wait_for(300ms) == std::future_status::timeout);
  blocker.release();
  REQUIRE(fut.wait_for(30s) == std::future_status::ready);
  CHECK(fut.get());
  CHECK(w.rows("kept") == 1);
}

TEST_CASE("a kept event whose commit fails hears false once and is retried", "[actors]") {
  test_support::temp_dir dir;
  const auto blocked_dir = dir.path() + "/db";
  { std::ofstream(blocked_dir) << "x"; }
  audit_world w;
  solod::audit_actor_options opts;
  opts.url = solod::database_url::parse("sqlite3://" + blocked_dir + "/a.db");
  w.start(opts);

  std::atomic<int> calls{0};
  std::promise<bool> heard;
  solod::end_reply on_commit = [&](bool ok) {
    if (calls++ == 0) {
      heard.set_value(ok);
    }
  };
  caf::anon_send(w.audit, solod::audit_atom::value, make_event(1, "kept"), on_commit);
  auto fut = heard.get_future();
  REQUIRE(fut.wait_for(30s) == std::future_status::ready);
  CHECK_FALSE(fut.get());

  std::filesystem::remove(blocked_dir);
  {
    auto sql = solod::open_database(opts.url);
    solod::migrate(*sql, opts.url.dialect);
  }
  auto sql = solod::open_database(opts.url);
  // Unlike a refused commit request, the event was kept: it is written on the retry.
  CHECK(eventually(
    [&] { return count_of(*sql, "SELECT COUNT(*) FROM login_logs WHERE event_type = 'kept'") == 1; }, 30s));
  CHECK(calls.load() == 1);
}

TEST_CASE("events beyond max_held are dropped while the database is down", "[actors]") {
  test_support::temp_dir dir;
  { std::ofstream(dir.path() + "/plain-file") << "x"; }
  audit_world w;
  solod::audit_actor_options opts;
  opts.url = solod::database_url::parse("sqlite3://" + dir.path() + "/plain-file/a.db");
  opts.max_held = 3;
  w.start(opts);

  for (int i = 0; i < 10; ++i) {
    caf::anon_send(w.audit, solod::audit_atom::value, make_event(i));
  }
  CHECK(w.flush() == 3);
  CHECK(w.stats.audit_queue_depth.load() == 3);
}

TEST_CASE("async durability writes events within about flush_interval", "[actors]") {
  audit_world w;
  solod::audit_actor_options opts;
  opts.durability = solod::audit_durability::async;
  opts.flush_interval = 10ms;
  w.start(opts);

  for (int i = 0; i < 20; ++i) {
    caf::anon_send(w.audit, solod::audit_atom::value, make_event(i, "async"));
  }
  // No flush request: the actor's own timer must write them.
  CHECK(eventually([&] { return w.rows("async") == 20; }, 5s));
  CHECK(eventually([&] { return w.stats.audit_queue_depth.load() == 0; }, 5s));
  CHECK(w.stats.audit_events_committed.load() == 20);
}

TEST_CASE("commit durability makes the audit connection commit synchronously", "[actors]") {
  test_support::test_database db;
  solod::audit_actor_options opts;
  opts.url = db.url;
  if (db.url.dialect == solod::sql_dialect::sqlite) {
    // SQLite: WAL with synchronous=NORMAL (1), which keeps commits across a crash of the process.
    opts.durability = solod::audit_durability::commit;
    CHECK(count_of(*solod::open_audit_connection(opts), "PRAGMA synchronous") == 1);
    return;
  }
  // A database whose default is off, as a tuned server might have it.
  *db.sql << "ALTER DATABASE " + db.pg->name() + " SET synchronous_commit = off";
  opts.durability = solod::audit_durability::commit;
  CHECK(test_support::text_of(*solod::open_audit_connection(opts), "SHOW synchronous_commit") == "on");
  opts.durability = solod::audit_durability::async;
  CHECK(test_support::text_of(*solod::open_audit_connection(opts), "SHOW synchronous_commit") == "off");
}

TEST_CASE("the audit actor chains every batch and signs the head, on its interval and when asked",
          "[actors][audit][audit_chain]") {
  audit_world w;
  solod::audit_actor_options opts;
  opts.batch_max = 7; // several batches, each extending the chain
  const auto key_path = w.db.dir.path() + "/audit.key";
  opts.signer = std::make_shared<solod::checkpoint_signer>(solod::audit_signing_key::load_or_create(key_path),
                                                           key_path);
  opts.checkpoint_interval = 50ms;
  w.start(opts);
  for (int i = 0; i < 40; ++i) {
    caf::anon_send(w.audit, solod::audit_atom::value, make_event(i));
  }
  REQUIRE(w.flush() == 0);
  // The interval's checkpoint reaches the head by itself.
  REQUIRE(eventually([&] {
    return count_of(*w.db.sql, "SELECT COUNT(*) FROM audit_checkpoints WHERE row_id = 40") == 1;
  }));
  for (int i = 40; i < 45; ++i) {
    caf::anon_send(w.audit, solod::audit_atom::value, make_event(i));
  }
  REQUIRE(w.flush() == 0);
  // As at shutdown: asked, it signs the new head at once.
  std::optional<bool> signed_now;
  caf::scoped_actor self{*w.sys};
  self->request(w.audit, caf::infinite, solod::checkpoint_atom::value)
    .receive([&](bool ok) { signed_now = ok; }, [](caf::error&) {});
  REQUIRE(signed_now == true);
  CHECK(count_of(*w.db.sql, "SELECT MAX(row_id) FROM audit_checkpoints") == 45);
  CHECK(count_of(*w.db.sql, "SELECT COUNT(*) FROM login_logs WHERE id BETWEEN 1 AND 45") == 45);
  auto verdict = solod::verify_audit_chain(*w.db.sql, {.trusted_keys = {opts.signer->key().public_key()}});
  CHECK(verdict.intact());
  CHECK(verdict.signed_up_to == 45);
}
