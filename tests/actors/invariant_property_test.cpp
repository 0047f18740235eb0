// Issue #9, point 10: a property test of solod's invariant. Random, seeded
// sequences of steps over a few users go through the real actors (directory,
// user actors, connection actors, presence, audit) and real SQLite databases:
// logins under both policies, logouts, admin ends, expiry (a manual clock),
// WebSocket connects and closes, actor retirement, audit failure and
// recovery, and injected actor failures. After every step:
//   - at most one live session per user in the database;
//   - the registry equals the database's live sessions;
//   - every connection of an ended session got exactly one `kicked` and its close;
//   - every acknowledged event has its audit row (once the audit database works).
//
// A failure names its seed and step. SOLOD_PROPERTY_SEED=N runs only seed N
// (SOLOD_PROPERTY_STEPS=M sets its length); otherwise the fixed seeds and the
// regression seeds run, then one from the time, printed. Each seed prints how
// many steps of each kind it ran (SOLOD_PROPERTY_TIMES=1 adds their time).
// The order of steps is fixed by the seed; the actors' scheduling is not, so a
// replay runs the same steps, and a race it found may need a few runs.

#include "storage/session_repository.hpp"
#include "support/connection_world.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using nlohmann::json;
using solod::end_reason;
using solod::fail_point;
using solod::kick_reason;
using solod::login_outcome;
using solod::metrics;
using test_support::connection_world;
using test_support::count_of;
using test_support::eventually;
using test_support::recording_sink;
using test_support::ws_client;

namespace {

/// Seeds that run in CI; a seed that once found a bug stays here (see the
/// regression list at the bottom of this file).
const std::vector<std::uint64_t> fixed_seeds = {1, 2, 3, 4, 5, 6, 7, 8};
constexpr int default_steps = 1250; // x 8 fixed seeds = 10,000 steps in CI

/// Seeds that once failed, with the length that reached the failure.
struct regression {
  std::uint64_t seed;
  int steps;
  const char* what;
};
const std::vector<regression> regression_seeds = {
  // The model, not solod: an idle-due session that a connection joined before
  // its idle timer fired stays live (correctly); the test waited for its end.
  // Then (2026-12-02, step 2159 at 312 steps a seed on PostgreSQL): a session
  // made idle-due by the close of its last connection, ended by its timer
  // while a deny_new login ran; the model now counts it as expiring.
  {317, 2400, "an expiring session raced by a connection and an injected failure"},
};

/// An event the actors acknowledged, whose audit row must exist.
struct acknowledged {
  std::string event_type;
  std::string session_id;
};

/// A connection the test opened and that is still open as far as it knows.
struct open_connection {
  ws_client client;
  std::int64_t user_id = 0;
  std::string session_id;
};

struct user {
  std::int64_t id = 0;
  std::string name;
  std::vector<solod::session_record> ended; ///< sessions of this user known to be over
};

/// A connection_world with a manual clock, a separate audit database that can
/// be made to fail (a trigger), and the model of what the test has done.
class property_world {
public:
  property_world(std::uint64_t seed, int steps) : seed_(seed), steps_(steps), rng_(seed) {
    // The audit database fails on demand: a trigger refuses every insert
    // while the switch is on, so commits fail at once, like a broken disk.
    *audit_db_.sql << "CREATE TABLE fail_switch (active INTEGER NOT NULL)";
    *audit_db_.sql << "INSERT INTO fail_switch VALUES (0)";
    if (audit_db_.url.dialect == solod::sql_dialect::postgresql) {
      *audit_db_.sql << "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        "IF (SELECT active FROM fail_switch) = 1 THEN "
                        "RAISE EXCEPTION 'audit failure injected'; END IF; RETURN NEW; END $$";
      *audit_db_.sql << "CREATE TRIGGER fail_audit BEFORE INSERT ON login_logs "
                        "FOR EACH ROW EXECUTE FUNCTION fail_audit()";
    } else {
      *audit_db_.sql << "CREATE TRIGGER fail_audit BEFORE INSERT ON login_logs "
                        "WHEN (SELECT active FROM fail_switch) = 1 "
                        "BEGIN SELECT RAISE(ABORT, 'audit failure injected'); END";
    }
    w_.actor_clock = &clock_;
    w_.audit_url = audit_db_.url;
    w_.test_hooks = true;
    // Short real timers: the expiry and idle timers re-check the manual clock
    // every 40 and 20 ms, an idle user actor retires after 5 ms (so retirement
    // races the steps). Sessions only age when an expire step moves the clock.
    w_.cfg.auth.token_ttl = 40ms;
    w_.cfg.auth.idle_timeout = 20ms;
    w_.retire_after = 5ms;
    w_.cfg.auth.policy = seed % 2 == 0 ? solod::session_policy::kick_old
                                       : solod::session_policy::deny_new;
    w_.start();
    // A race's connection whose session ended before it authenticated waits
    // for an auth message; it need not wait the production 5 s for it.
    w_.cctx.auth_timeout = 20ms;
    std::uniform_int_distribution<int> n_users(3, 5);
    int n = n_users(rng_);
    for (int i = 0; i < n; ++i) {
      user u;
      u.name = "p" + std::to_string(seed) + "u" + std::to_string(i);
      u.id = w_.add_user(u.name);
      users_.push_back(u);
    }
  }

  void run() {
    for (step_ = 0; step_ < steps_; ++step_) {
      auto t0 = std::chrono::steady_clock::now();
      one_step();
      auto t1 = std::chrono::steady_clock::now();
      check_invariants();
      record(t1 - t0, std::chrono::steady_clock::now() - t1);
    }
    // The end: the audit database works again and every acknowledged event is there.
    set_audit_failing(false);
    check_invariants();
  }

private:
  /// Counts the step just run under its kind (its name without the user).
  void record(std::chrono::steady_clock::duration step, std::chrono::steady_clock::duration check) {
    auto kind = op_;
    for (auto& u : users_) {
      if (kind.size() > u.name.size() && kind.ends_with(" " + u.name)) {
        kind.resize(kind.size() - u.name.size() - 1);
      }
    }
    auto& k = kinds_[kind];
    k.count++;
    k.step_seconds += std::chrono::duration<double>(step).count();
    k.check_seconds += std::chrono::duration<double>(check).count();
  }

  // -- random choices --------------------------------------------------------

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  user& any_user() { return users_[static_cast<std::size_t>(pick(static_cast<int>(users_.size())))]; }

  /// A user with a live session when there is one (connects and ends need one), else any.
  user& user_with_session() {
    auto live = live_in_db();
    std::vector<user*> with;
    for (auto& u : users_) {
      if (live.count(u.id) != 0) {
        with.push_back(&u);
      }
    }
    return with.empty() ? any_user() : *with[static_cast<std::size_t>(pick(static_cast<int>(with.size())))];
  }

  std::string where() const {
    return "seed " + std::to_string(seed_) + " step " + std::to_string(step_) + " (" + op_ + ")";
  }

  // -- the database and memory ---------------------------------------------------

  std::map<std::int64_t, solod::session_record> live_in_db() {
    std::map<std::int64_t, solod::session_record> live;
    for (auto& s : solod::session_repository(*w_.db.sql).load_live()) {
      live[s.user_id] = s;
    }
    return live;
  }

  std::set<std::string> live_ids_in_db() {
    std::set<std::string> ids;
    for (auto& s : solod::session_repository(*w_.db.sql).load_live()) {
      ids.insert(s.id);
    }
    return ids;
  }

  std::set<std::string> registry_ids() {
    std::set<std::string> ids;
    w_.registry.for_each([&](const solod::live_session& s) { ids.insert(s.id); });
    return ids;
  }

  std::optional<solod::session_record> live_of(const user& u) {
    auto live = live_in_db();
    auto it = live.find(u.id);
    if (it == live.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  std::uint64_t failures(metrics::actor_kind k) const {
    return w_.stats.actor_failures[static_cast<std::size_t>(k)].load();
  }

  void set_audit_failing(bool failing) {
    audit_failing_ = failing;
    *audit_db_.sql << "UPDATE fail_switch SET active = " + std::string(failing ? "1" : "0");
    if (!failing) {
      // The retry timer would commit the held events within 5 s; a flush does it now.
      INFO(where());
      REQUIRE(w_.flush_audit() == 0);
    }
  }

  // -- steps ----------------------------------------------------------------------

  void one_step() {
    // Weights: logins and connections most, failures rarely.
    int r = pick(100);
    if (r < 24) {
      login(any_user());
    } else if (r < 31) {
      end(user_with_session(), end_reason::logout);
    } else if (r < 37) {
      end(user_with_session(), end_reason::admin);
    } else if (r < 41) {
      expire();
    } else if (r < 60) {
      connect(user_with_session());
    } else if (r < 63) {
      connect_stale(any_user());
    } else if (r < 73) {
      close_one();
    } else if (r < 77) {
      retire();
    } else if (r < 80) {
      op_ = "audit toggle";
      set_audit_failing(!audit_failing_);
    } else if (r < 84) {
      end_stale(any_user());
    } else if (r < 87) {
      fail_user_now(any_user());
    } else if (r < 90) {
      fail_user_during_login(any_user());
    } else if (r < 93) {
      fail_connection();
    } else if (r < 94) {
      fail_presence();
    } else {
      race(any_user());
    }
  }

  /// A session that an expire step made due but did not wait for: its timer
  /// may end it at any moment, racing whatever the next steps do.
  bool in_flux(const std::optional<solod::session_record>& s) const {
    return s && expiring_.count(s->id) != 0;
  }

  /// Lets every expiring session end and its connections be checked, so that a
  /// step that predicts kicks exactly (a failure) is not raced by an expiry kick.
  void settle_expiry() {
    // Due now: past its expiry, or idle (no connection, quiet long enough). An
    // idle-due session that got a connection meanwhile is no longer due.
    std::string stuck;
    bool settled = eventually([&] {
      stuck.clear();
      auto now = clock_.now();
      w_.registry.for_each([&](const solod::live_session& s) {
        auto quiet = solod::to_unix_ms(now) - s.last_seen_ms->load();
        bool idle = s.connections->load() == 0 && quiet >= w_.cfg.auth.idle_timeout.count();
        if (s.expires_at <= now || idle) {
          stuck = s.id + (idle ? " (idle)" : " (expired)");
        }
      });
      return stuck.empty();
    });
    INFO("due but still live: " << stuck);
    REQUIRE(settled);
    expiring_.clear();
    check_invariants();
  }

  /// What a login must answer, given the model.
  login_outcome::status expected_login(const user& u) {
    bool live = live_of(u).has_value();
    if (w_.cfg.auth.policy == solod::session_policy::deny_new && live) {
      return login_outcome::status::session_active;
    }
    // In commit durability a login whose audit row cannot be committed is refused.
    return audit_failing_ ? login_outcome::status::unavailable : login_outcome::status::ok;
  }

  void login(user& u) {
    op_ = "login " + u.name;
    INFO(where());
    auto expected = expected_login(u);
    auto before = live_of(u);
    auto out = w_.login(u.id, u.name, "198.51.100." + std::to_string(pick(250)), "prop-agent");
    if (in_flux(before) && expected == login_outcome::status::session_active) {
      // deny_new and a session that is expiring: refused, or allowed once it is over.
      REQUIRE((out.result != login_outcome::status::unavailable || audit_failing_));
    } else {
      REQUIRE(static_cast<int>(out.result) == static_cast<int>(expected));
    }
    if (out.result == login_outcome::status::ok) {
      REQUIRE(w_.registry.is_live(u.id, out.session.id));
      pending_.push_back({"login_success", out.session.id});
      if (before && !in_flux(before)) {
        // Acknowledged with the login: the session it pushed out.
        REQUIRE(w_.end_reason_of(before->id) == "superseded");
        pending_.push_back({"session_superseded", before->id});
      }
    }
    if (out.result == login_outcome::status::session_active) {
      session_active_acks_[u.name]++;
    }
    if (before && out.result != login_outcome::status::session_active) {
      u.ended.push_back(*before);
    }
  }

  void end(user& u, end_reason reason) {
    op_ = std::string(solod::to_string(reason)) + " " + u.name;
    INFO(where());
    auto live = live_of(u);
    if (!live) {
      return end_stale(u);
    }
    if (in_flux(live)) {
      // Ended by this request, or by its expiry just before.
      u.ended.push_back(*live);
      if (!w_.end(u.id, live->id, reason)) {
        REQUIRE(eventually([&] { return w_.end_reason_of(live->id) == "expired"; }));
        return;
      }
    } else {
      REQUIRE(w_.end(u.id, live->id, reason));
    }
    REQUIRE_FALSE(w_.registry.is_live(u.id, live->id));
    // The answer waits for the row.
    REQUIRE(w_.is_ended_in_db(live->id));
    pending_.push_back({reason == end_reason::logout ? "logout" : "session_terminated", live->id});
    u.ended.push_back(*live);
  }

  void end_stale(user& u) {
    op_ = "end stale " + u.name;
    INFO(where());
    if (u.ended.empty()) {
      return;
    }
    auto& old = u.ended[static_cast<std::size_t>(pick(static_cast<int>(u.ended.size())))];
    if (live_ids_in_db().count(old.id) != 0) {
      return; // an expiring session, not over yet
    }
    REQUIRE_FALSE(w_.end(u.id, old.id, end_reason::admin));
  }

  void expire() {
    op_ = "expire";
    INFO(where());
    // token_ttl is 40 ms of the manual clock, idle_timeout 20 ms: some sessions
    // are due, by either, some not.
    clock_.advance(std::chrono::milliseconds{pick(30) + 1});
    bool wait = pick(2) == 0;
    auto now = clock_.now();
    std::set<std::string> idle;
    w_.registry.for_each([&](const solod::live_session& s) {
      auto quiet = solod::to_unix_ms(now) - s.last_seen_ms->load();
      if (s.connections->load() == 0 && quiet >= w_.cfg.auth.idle_timeout.count()) {
        idle.insert(s.id);
      }
    });
    std::set<std::string> due;
    for (auto& [uid, s] : live_in_db()) {
      if (s.expires_at <= now || idle.count(s.id) != 0) {
        due.insert(s.id);
        expiring_.insert(s.id);
        for (auto& u : users_) {
          if (u.id == uid) {
            u.ended.push_back(s);
          }
        }
      }
    }
    if (!wait) {
      return; // the timers end them while the next steps run
    }
    // The expiry timers notice within about token_ttl; the bound is only a guard.
    REQUIRE(eventually([&] {
      auto live = live_ids_in_db();
      for (auto& id : due) {
        if (live.count(id) != 0) {
          return false;
        }
      }
      return true;
    }));
  }

  /// Open connections of session `sid`.
  std::size_t connections_of(const std::string& sid) const {
    std::size_t n = 0;
    for (auto& c : open_) {
      n += c.session_id == sid ? 1 : 0;
    }
    return n;
  }

  void connect(user& u) {
    op_ = "connect " + u.name;
    INFO(where());
    auto live = live_of(u);
    if (!live) {
      return connect_stale(u);
    }
    if (in_flux(live)) {
      // Expiring: welcomed (and kicked when the timer fires), or refused.
      auto c = w_.connect(w_.token_for(*live));
      c.send({{"type", "auth"}, {"token", w_.token_for(*live)}});
      REQUIRE(c.sink->wait_until([](const std::vector<std::string>& texts,
                                    const std::optional<test_support::close_record>& closed) {
        return closed || !texts.empty();
      }));
      REQUIRE(eventually([&] {
        return c.sink->count_of("welcome") == 1 || c.sink->closed().has_value();
      }));
      if (c.sink->count_of("welcome") == 1) {
        open_.push_back({c, u.id, live->id});
      } else {
        w_.await_gone(c);
      }
      return;
    }
    // The user actor counts the connections it holds; wait until it has
    // heard of every close the test saw, so its answer is predictable.
    auto expected = connections_of(live->id);
    REQUIRE(eventually([&] {
      auto s = w_.registry.find(u.id);
      return s && s->id == live->id &&
             static_cast<std::size_t>(s->connections->load()) == expected;
    }));
    auto c = w_.connect(w_.token_for(*live));
    if (expected >= static_cast<std::size_t>(w_.cfg.auth.max_connections_per_session)) {
      REQUIRE(c.sink->wait_closed());
      check_one_kick(c, "too_many_connections");
      w_.await_gone(c);
      return;
    }
    REQUIRE(c.sink->wait_for_type("welcome"));
    open_.push_back({c, u.id, live->id});
  }

  void connect_stale(user& u) {
    op_ = "connect stale " + u.name;
    INFO(where());
    if (u.ended.empty()) {
      return;
    }
    auto& old = u.ended[static_cast<std::size_t>(pick(static_cast<int>(u.ended.size())))];
    if (live_ids_in_db().count(old.id) != 0) {
      return; // an expiring session, not over yet
    }
    auto c = w_.connect(w_.token_for(old));
    // An ended session's token is ignored at connect; the first message must be auth.
    c.send({{"type", "auth"}, {"token", w_.token_for(old)}});
    REQUIRE(c.sink->wait_closed());
    REQUIRE(c.sink->closed()->code == 4401);
    REQUIRE(c.sink->count_of("welcome") == 0);
    w_.await_gone(c);
  }

  void close_one() {
    op_ = "close";
    INFO(where());
    if (open_.empty()) {
      return;
    }
    auto i = static_cast<std::size_t>(pick(static_cast<int>(open_.size())));
    auto c = open_[i];
    open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(i));
    c.client.disconnect();
    w_.await_gone(c.client);
    // A close from the client side is no kick; a kick that raced it may have come first.
    REQUIRE(c.client.sink->count_of("kicked") <= 1);
    // Its session's last connection gone after a quiet spell (the manual clock
    // moved on while it was connected): the idle timer may end it at any
    // moment now, racing the next steps, as after an expire step (seed 317).
    const auto now = solod::to_unix_ms(clock_.now());
    w_.registry.for_each([&](const solod::live_session& s) {
      if (s.id == c.session_id && s.connections->load() == 0 &&
          now - s.last_seen_ms->load() >= w_.cfg.auth.idle_timeout.count()) {
        expiring_.insert(s.id);
      }
    });
  }

  void retire() {
    op_ = "retire";
    INFO(where());
    // Every user actor without a session retires; those with one stay.
    REQUIRE(eventually([&] { return w_.user_actors() == live_in_db().size(); }));
  }

  void fail_user_now(user& u) {
    op_ = "fail user " + u.name;
    INFO(where());
    auto before = failures(metrics::actor_kind::user);
    auto live = live_of(u);
    caf::anon_send(w_.directory, solod::fail_atom::value, u.id, fail_point::now);
    REQUIRE(eventually([&] { return failures(metrics::actor_kind::user) == before + 1; }));
    if (live) {
      // Fail closed: the session is ended (reason server_error) by the fresh actor.
      REQUIRE(eventually([&] { return w_.is_ended_in_db(live->id); }));
      REQUIRE((w_.end_reason_of(live->id) == "server_error" ||
               (in_flux(live) && w_.end_reason_of(live->id) == "expired")));
      u.ended.push_back(*live);
    }
  }

  void fail_user_during_login(user& u) {
    op_ = "fail user during login " + u.name;
    INFO(where());
    // Maybe no row written (deny_new, an expiring session, or a failing audit
    // log, which may refuse the login before its row): the hook would stay armed.
    if (expected_login(u) != login_outcome::status::ok || in_flux(live_of(u))) {
      return login(u);
    }
    auto before = failures(metrics::actor_kind::user);
    auto live = live_of(u);
    caf::anon_send(w_.directory, solod::fail_atom::value, u.id, fail_point::next_started);
    auto out = w_.login(u.id, u.name, "198.51.100.99", "prop-agent");
    if (out.result == login_outcome::status::ok) {
      // The armed actor retired before the login reached it (a 5 ms race): a plain login.
      REQUIRE_FALSE(audit_failing_);
      pending_.push_back({"login_success", out.session.id});
    } else {
      REQUIRE(out.result == login_outcome::status::unavailable);
      REQUIRE(eventually([&] { return failures(metrics::actor_kind::user) == before + 1; }));
      // Neither the old session nor the half-made new one survives.
      REQUIRE(eventually([&] { return !live_of(u).has_value(); }));
    }
    if (live) {
      u.ended.push_back(*live);
    }
  }

  /// Several things at once for one user, answered in whatever order the
  /// actors take them: two logins, an end of the live session, a connection
  /// with its token, sometimes an injected failure. Only the invariants are
  /// predicted, plus: every request is answered.
  void race(user& u) {
    op_ = "race " + u.name;
    INFO(where());
    auto live = live_of(u);
    std::vector<std::future<login_outcome>> logins;
    std::optional<std::future<bool>> ended;
    std::optional<ws_client> conn;
    bool fail = pick(4) == 0;
    auto before_failures = failures(metrics::actor_kind::user);
    if (live && connections_of(live->id) < 2) {
      conn = w_.connect(w_.token_for(*live));
    }
    // One of the session's open connections closes from the client side meanwhile.
    std::optional<open_connection> closing;
    for (auto it = open_.begin(); live && it != open_.end(); ++it) {
      if (it->session_id == live->id && pick(2) == 0) {
        closing = *it;
        open_.erase(it);
        closing->client.disconnect();
        break;
      }
    }
    logins.push_back(w_.login_async(u.id, u.name, "198.51.100.201", "race-a"));
    if (live) {
      ended = w_.end_async(u.id, live->id, pick(2) == 0 ? end_reason::logout : end_reason::admin);
    }
    if (fail) {
      caf::anon_send(w_.directory, solod::fail_atom::value, u.id, fail_point::now);
    }
    logins.push_back(w_.login_async(u.id, u.name, "198.51.100.202", "race-b"));

    for (auto& f : logins) {
      auto out = test_support::wait_reply(f);
      REQUIRE(out); // answered, whatever the answer
      if (out->result == login_outcome::status::ok) {
        REQUIRE_FALSE(audit_failing_);
        pending_.push_back({"login_success", out->session.id});
      } else if (out->result == login_outcome::status::session_active) {
        session_active_acks_[u.name]++;
      }
    }
    if (ended) {
      auto answer = test_support::wait_reply(*ended);
      REQUIRE(answer);
      if (*answer) {
        pending_.push_back({"logout", live->id});
        // Which kind of end row depends on the reason; both count as its audit.
        pending_.back().event_type = "%";
      }
    }
    if (fail) {
      REQUIRE(eventually([&] { return failures(metrics::actor_kind::user) == before_failures + 1; }));
    }
    if (live) {
      u.ended.push_back(*live); // over now, or soon: every branch ends it
    }
    if (closing) {
      // Closed by its client, maybe kicked first: never kicked twice, closed at most once by us.
      w_.await_gone(closing->client);
      REQUIRE(closing->client.sink->count_of("kicked") <= 1);
      REQUIRE(closing->client.sink->close_calls() <= 1);
    }
    if (conn) {
      // Welcomed (then it is an open connection like any other), or refused.
      REQUIRE(conn->sink->wait_until([](const std::vector<std::string>& texts,
                                        const std::optional<test_support::close_record>& c) {
        if (c) {
          return true;
        }
        for (auto& t : texts) {
          if (recording_sink::is_type(json::parse(t, nullptr, false), "welcome")) {
            return true;
          }
        }
        return false;
      }));
      if (conn->sink->count_of("welcome") == 1) {
        open_.push_back({*conn, u.id, live->id});
      } else {
        auto code = conn->sink->closed()->code;
        REQUIRE((code == 4401 || code == 4429));
        w_.await_gone(*conn);
      }
    }
  }

  void fail_connection() {
    op_ = "fail connection";
    INFO(where());
    settle_expiry();
    if (open_.empty()) {
      return;
    }
    auto before = failures(metrics::actor_kind::connection);
    auto i = static_cast<std::size_t>(pick(static_cast<int>(open_.size())));
    auto c = open_[i];
    open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(i));
    caf::anon_send(c.client.actor, solod::fail_atom::value);
    w_.await_gone(c.client);
    REQUIRE(c.client.sink->wait_closed());
    check_one_kick(c.client, "server_error");
    REQUIRE(failures(metrics::actor_kind::connection) == before + 1);
  }

  void fail_presence() {
    op_ = "fail presence";
    INFO(where());
    settle_expiry();
    auto before = failures(metrics::actor_kind::presence);
    auto old = w_.presence.get();
    caf::anon_send(old, solod::fail_atom::value);
    REQUIRE(eventually([&] { return w_.presence.get() != old; }));
    REQUIRE(failures(metrics::actor_kind::presence) == before + 1);
    // Every open connection was in presence: each is closed with 1011, and its
    // WebSocket session reports the stream gone, as Beast does after a close.
    for (auto& c : open_) {
      REQUIRE(c.client.sink->wait_closed());
      check_one_kick(c.client, "server_error");
      c.client.disconnect();
    }
    for (auto& c : open_) {
      w_.await_gone(c.client);
    }
    open_.clear();
  }

  // -- checks -----------------------------------------------------------------------

  void check_one_kick(const ws_client& c, const std::string& reason) {
    auto kicks = c.sink->messages_of("kicked");
    REQUIRE(kicks.size() == 1);
    REQUIRE(kicks.front()["reason"] == reason);
    REQUIRE(c.sink->messages().back() == kicks.front()); // nothing after the kick
    REQUIRE(c.sink->close_calls() == 1);
  }

  void check_invariants() {
    INFO(where() << " [invariants]");
    // At most one live session per user in the database.
    REQUIRE(count_of(*w_.db.sql,
                     "SELECT COUNT(*) FROM (SELECT user_id FROM sessions WHERE logout_ts IS NULL "
                     "GROUP BY user_id HAVING COUNT(*) > 1) AS doubled") == 0);

    // The registry equals the database's live sessions (a failure's recovery
    // and an expiry's row may still be on their way: wait, with a guard).
    std::set<std::string> in_memory, on_disk;
    bool equal = eventually([&] {
      in_memory = registry_ids();
      on_disk = live_ids_in_db();
      return in_memory == on_disk;
    });
    if (!equal) {
      FAIL_CHECK("registry " << json(in_memory).dump() << " != database " << json(on_disk).dump());
    }
    REQUIRE(equal);

    // Every connection of an ended session got exactly one kick and its close.
    for (auto it = open_.begin(); it != open_.end();) {
      auto& c = it->client;
      if (on_disk.count(it->session_id) != 0) {
        if (expiring_.count(it->session_id) != 0 && c.sink->closed()) {
          // An expiry in flight: the connection is kicked, the session's end
          // not yet written (seen on PostgreSQL, where the write takes longer);
          // a later check finds it ended and checks the kick.
          ++it;
          continue;
        }
        REQUIRE_FALSE(c.sink->closed());
        ++it;
        continue;
      }
      REQUIRE(c.sink->wait_closed());
      auto kicks = c.sink->messages_of("kicked");
      REQUIRE(kicks.size() == 1);
      REQUIRE(c.sink->messages().back() == kicks.front());
      auto reason = kicks.front()["reason"].get<std::string>();
      auto closed = c.sink->closed();
      static const std::map<std::string, int> codes = {{"superseded", 4001}, {"logout", 4002},
                                                       {"admin", 4003},      {"expired", 4004},
                                                       {"server_error", 1011}};
      REQUIRE(codes.count(reason) == 1);
      REQUIRE(closed->code == codes.at(reason));
      REQUIRE(c.sink->close_calls() == 1);
      w_.await_gone(c);
      it = open_.erase(it);
    }

    // Every acknowledged event has its audit row, once the audit database works.
    if (!audit_failing_) {
      REQUIRE(w_.flush_audit() == 0);
      for (auto& ev : pending_) {
        INFO("event " << ev.event_type << " of session " << ev.session_id);
        if (ev.event_type == "%") {
          // Ended by a race: logout or admin, and maybe a failure after it; one end row.
          REQUIRE(count_of(*audit_db_.sql,
                           "SELECT COUNT(*) FROM login_logs WHERE session_id = :s AND "
                           "event_type IN ('logout', 'session_terminated')",
                           {ev.session_id}) == 1);
          continue;
        }
        REQUIRE(count_of(*audit_db_.sql,
                         "SELECT COUNT(*) FROM login_logs WHERE event_type = :e AND session_id = :s",
                         {ev.event_type, ev.session_id}) == 1);
      }
      pending_.clear();
      for (auto& [name, n] : session_active_acks_) {
        REQUIRE(count_of(*audit_db_.sql,
                         "SELECT COUNT(*) FROM login_logs WHERE event_type = 'login_failure' "
                         "AND username = :u AND error_message = 'session_active'",
                         {name}) == n);
      }
    }
  }

public:
  /// Steps of each kind, and the time they and the checks after them took.
  struct kind_stats {
    int count = 0;
    double step_seconds = 0;
    double check_seconds = 0;
  };
  const std::map<std::string, kind_stats>& kinds() const { return kinds_; }

private:
  std::map<std::string, kind_stats> kinds_;
  std::uint64_t seed_;
  int steps_;
  int step_ = 0;
  std::string op_ = "start";
  std::mt19937_64 rng_;
  solod::manual_clock clock_{std::chrono::system_clock::now()};
  test_support::test_database audit_db_{"audit.db"};
  connection_world w_;
  std::vector<user> users_;
  std::vector<open_connection> open_;
  std::vector<acknowledged> pending_;
  std::map<std::string, long long> session_active_acks_;
  bool audit_failing_ = false;
  std::set<std::string> expiring_; ///< made due by an expire step that did not wait
};

std::optional<std::uint64_t> seed_from_env() {
  const char* s = std::getenv("SOLOD_PROPERTY_SEED");
  if (s == nullptr || *s == '\0') {
    return std::nullopt;
  }
  return std::stoull(s);
}

int steps_from_env() {
  const char* s = std::getenv("SOLOD_PROPERTY_STEPS");
  return s != nullptr && *s != '\0' ? std::stoi(s) : default_steps;
}

void run_seed(std::uint64_t seed, int steps) {
  INFO("property seed " << seed << " (reproduce: SOLOD_PROPERTY_SEED=" << seed
                        << " ./build/solod_tests \"[property]\")");
  auto started = std::chrono::steady_clock::now();
  property_world world(seed, steps);
  world.run();
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "property seed " << seed << ": " << steps << " steps in " << took << " s:";
  for (auto& [kind, k] : world.kinds()) {
    std::cout << " " << kind << " " << k.count;
    if (std::getenv("SOLOD_PROPERTY_TIMES")) {
      std::cout << " (" << k.step_seconds << "+" << k.check_seconds << " s)";
    }
    std::cout << ",";
  }
  std::cout << "\n";
}

} // namespace

TEST_CASE("the one-session invariant holds over random sequences of steps", "[actors][property]") {
  auto steps = steps_from_env();
  if (auto seed = seed_from_env()) {
    run_seed(*seed, steps);
    return;
  }
  for (auto seed : fixed_seeds) {
    run_seed(seed, steps);
  }
  for (const auto& r : regression_seeds) {
    INFO("regression: " << r.what);
    run_seed(r.seed, r.steps);
  }
  // A new sequence on every run, printed so that a failure can be replayed.
  auto fresh = static_cast<std::uint64_t>(
    std::chrono::system_clock::now().time_since_epoch().count() % 1'000'000'007);
  std::cout << "property seed from the time: " << fresh << "\n";
  run_seed(fresh, steps / 4);
}

