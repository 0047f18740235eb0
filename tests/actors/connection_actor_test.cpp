// The connection actor, driven as the WebSocket session drives it (frames in,
// a sink out), on a real actor system with the real directory, user actors,
// presence, audit actor and SQLite database: SPEC §4 from authentication to kicks.

#include "support/connection_world.hpp"
#include "util/time_format.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <thread>
#include <vector>

using namespace std::chrono_literals;
using nlohmann::json;
using solod::end_reason;
using solod::kick_reason;
using solod::login_outcome;
using test_support::connection_world;
using test_support::recording_sink;
using test_support::ws_client;

namespace {

/// The messages of `c` from index `from` on.
std::vector<json> messages_since(const ws_client& c, std::size_t from) {
  auto all = c.sink->messages();
  return {all.begin() + static_cast<std::ptrdiff_t>(std::min(from, all.size())), all.end()};
}

/// `{"type":"error","code":code,...}` with a string message.
bool is_error(const json& m, const std::string& code) {
  return recording_sink::is_type(m, "error") && m.value("code", "") == code &&
         m.contains("message") && m["message"].is_string();
}

/// Checks that `c` was kicked for `reason`: the kick is its last message and its
/// only kick, the close carries the reason's code, and it was closed once.
void check_kicked(const ws_client& c, kick_reason reason,
                  const std::optional<json>& by = std::nullopt) {
  REQUIRE(c.sink->wait_closed());
  auto msgs = c.sink->messages();
  REQUIRE_FALSE(msgs.empty());
  json expected{{"type", "kicked"}, {"reason", solod::to_string(reason)}};
  if (by) {
    expected["by"] = *by;
  }
  CHECK(msgs.back() == expected);
  CHECK(c.sink->count_of("kicked") == 1);
  auto closed = c.sink->closed();
  REQUIRE(closed);
  CHECK(closed->code == solod::close_code_of(reason));
  CHECK(closed->reason == solod::to_string(reason));
  CHECK(c.sink->close_calls() == 1);
}

/// A live connection that nothing happened to: open, and still answering.
void check_untouched(connection_world& w, const ws_client& c) {
  CHECK(w.round_trip(c));
  CHECK_FALSE(c.sink->closed());
  CHECK(c.sink->count_of("kicked") == 0);
  CHECK(c.sink->count_of("error") == 0);
}

} // namespace

// -- kicks ----------------------------------------------------------------------

TEST_CASE("a new login kicks every connection of the superseded session, and only those",
          "[actors]") {
  constexpr int n = 20;
  connection_world w;
  w.cfg.auth.max_connections_per_session = n;
  w.start();
  auto alice = w.add_user("alice");
  auto bob = w.add_user("bob");

  auto first = w.login(alice, "alice", "203.0.113.1", "OldBrowser");
  REQUIRE(first.result == login_outcome::status::ok);
  std::vector<ws_client> conns;
  for (int i = 0; i < n; ++i) {
    conns.push_back(w.connect(w.token_for(first.session)));
  }
  for (auto& c : conns) {
    REQUIRE(c.sink->wait_for_type("welcome"));
  }
  auto bystander = w.connect_live(w.login(bob, "bob"));
  auto live = w.registry.find(alice);
  REQUIRE(live);
  CHECK(live->connections->load() == n);

  auto second = w.login(alice, "alice", "203.0.113.99", "NewBrowser");
  REQUIRE(second.result == login_outcome::status::ok);
  const json by{{"ip", "203.0.113.99"},
                {"user_agent", "NewBrowser"},
                {"at", solod::format_iso8601(second.session.login_ts)}};

  for (auto& c : conns) {
    check_kicked(c, kick_reason::superseded, by);
    // welcome, kicked: nothing else, before or after.
    CHECK(c.sink->texts().size() == 2);
    CHECK(c.sink->sent_after_close() == 0);
  }
  check_untouched(w, bystander);
  CHECK(w.stats.kicks[static_cast<std::size_t>(kick_reason::superseded)] == n);
}

TEST_CASE("ending a session kicks its connections with the reason's close code", "[actors]") {
  connection_world w;
  w.start();
  auto uid = w.add_user("carol");
  auto other = w.add_user("dave");
  auto out = w.login(uid, "carol");
  std::vector<ws_client> conns;
  for (int i = 0; i < 3; ++i) {
    conns.push_back(w.connect_live(out));
  }
  auto bystander = w.connect_live(w.login(other, "dave"));

  SECTION("logout: 4002") {
    REQUIRE(w.end(uid, out.session.id, end_reason::logout));
    for (auto& c : conns) {
      check_kicked(c, kick_reason::logout);
    }
  }
  SECTION("admin: 4003") {
    REQUIRE(w.end(uid, out.session.id, end_reason::admin));
    for (auto& c : conns) {
      check_kicked(c, kick_reason::admin);
    }
    CHECK(w.end_reason_of(out.session.id) == "admin");
  }
  SECTION("a logout message on one connection ends the session for all: 4002") {
    conns[1].send({{"type", "logout"}});
    for (auto& c : conns) {
      check_kicked(c, kick_reason::logout);
    }
    CHECK_FALSE(w.registry.is_live(uid, out.session.id));
    CHECK(test_support::eventually([&] { return w.is_ended_in_db(out.session.id); }));
    CHECK(w.end_reason_of(out.session.id) == "logout");
  }
  check_untouched(w, bystander);
}

// A WebSocket logout sends (end_atom, end_request, end_reply{}) with an empty
// reply; a second one finds the session over already and must be a no-op
// (it once called the empty reply and killed the user actor).
TEST_CASE("a logout sent twice ends the session once, audited, and the user actor survives",
          "[actors]") {
  connection_world w;
  w.start();
  auto uid = w.add_user("olivia");
  auto out = w.login(uid, "olivia");
  auto x = w.connect_live(out);
  auto y = w.connect_live(out);

  x.send({{"type", "logout"}});
  x.send({{"type", "logout"}});
  check_kicked(x, kick_reason::logout);
  check_kicked(y, kick_reason::logout);
  CHECK(test_support::eventually([&] { return w.is_ended_in_db(out.session.id); }));
  CHECK(w.end_reason_of(out.session.id) == "logout");
  CHECK(test_support::eventually([&] {
    w.flush_audit();
    return w.audit_rows("logout", out.session.id) == 1;
  }));
  // retire_after is 60 s: the user's actor is still there.
  CHECK(w.user_actors() == 1);
}

// A WebSocket logout of session S1 reaches the user actor just after a new
// login made S2 live (its connection had the logout frame queued ahead of the
// kick). It must change nothing: S2's login is answered and S2 stays usable.
// The backlog of pings keeps the logout frame ahead of the kick; the locked
// audit database keeps the login waiting.
TEST_CASE("a logout racing a re-login loses neither the login nor the new session",
          "[actors]") {
  test_support::test_database audit_db("audit.db");
  connection_world w;
  w.audit_url = audit_db.url;
  w.cfg.limits.ws_messages_per_second = 1'000'000;
  w.start();
  auto uid = w.add_user("pat");
  auto x = w.connect_live(w.login(uid, "pat"));

  for (int i = 0; i < 20000; ++i) {
    x.send({{"type", "ping"}, {"id", i}});
  }
  x.send({{"type", "logout"}});
  auto blocker = std::make_unique<test_support::write_blocker>(audit_db);
  auto fut = w.login_async(uid, "pat", "203.0.113.8", "Racer");
  REQUIRE(x.sink->wait_closed());
  blocker->release();

  auto out = test_support::wait_reply(fut);
  CHECK(out); // the login is answered
  if (out) {
    CHECK(out->result == login_outcome::status::ok);
  }
  // Whatever the answer, the session the registry calls live must have an owner:
  // a token for it attaches.
  auto live = w.registry.find(uid);
  REQUIRE(live);
  if (out) {
    CHECK(live->id == out->session.id);
  }
  solod::session_record s;
  s.id = live->id;
  s.user_id = uid;
  s.username = "pat";
  auto y = w.connect(w.token_for(s));
  REQUIRE(y.sink->wait_for_count(1));
  CHECK(recording_sink::is_type(y.sink->messages().front(), "welcome"));
}

TEST_CASE("an expiring session kicks its connections with 4004", "[actors]") {
  // The actors read a manual clock: the session cannot expire before the test says so.
  solod::manual_clock manual{std::chrono::system_clock::now()};
  connection_world w;
  w.actor_clock = &manual;
  w.cfg.auth.token_ttl = 300ms;
  w.start();
  auto uid = w.add_user("erin");
  auto out = w.login(uid, "erin");
  auto a = w.connect_live(out);
  auto b = w.connect_live(out);

  manual.advance(1s);
  check_kicked(a, kick_reason::expired);
  check_kicked(b, kick_reason::expired);
  CHECK_FALSE(w.registry.is_live(uid, out.session.id));
  CHECK(test_support::eventually([&] { return w.is_ended_in_db(out.session.id); }));
  CHECK(w.end_reason_of(out.session.id) == "expired");
}

TEST_CASE("a connection over max_connections_per_session is kicked with 4429", "[actors]") {
  connection_world w;
  w.cfg.auth.max_connections_per_session = 2;
  w.start();
  auto uid = w.add_user("frank");
  auto out = w.login(uid, "frank");
  auto first = w.connect_live(out);
  auto second = w.connect_live(out);

  auto third = w.connect(w.token_for(out.session));
  check_kicked(third, kick_reason::too_many_connections);
  CHECK(third.sink->texts().size() == 1); // no welcome before the kick
  CHECK(third.sink->count_of("welcome") == 0);

  check_untouched(w, first);
  check_untouched(w, second);
  auto live = w.registry.find(uid);
  REQUIRE(live);
  CHECK(live->connections->load() == 2);
  CHECK(w.stats.kicks[static_cast<std::size_t>(kick_reason::too_many_connections)] == 1);
}

TEST_CASE("a kick while messages are in flight ends the old connection cleanly", "[actors]") {
  constexpr int burst = 50;
  connection_world w;
  w.start();
  auto alice = w.add_user("alice");
  auto bob = w.add_user("bob");
  auto sender = w.connect_live(w.login(alice, "alice"));
  auto old_conn = w.connect_live(w.login(bob, "bob"));

  // The burst on one thread, the re-login on this one, at the same time.
  std::thread burster([&] {
    for (int i = 0; i < burst; ++i) {
      sender.send({{"type", "message"}, {"to", "bob"}, {"text", "m" + std::to_string(i)}});
    }
  });
  auto relogin = w.login(bob, "bob", "203.0.113.77", "Relogin");
  burster.join();
  REQUIRE(relogin.result == login_outcome::status::ok);

  // The sender has handled every frame, presence every delivery, the sender every answer.
  REQUIRE(w.round_trip(sender));
  w.presence_round_trip();
  REQUIRE(w.round_trip(sender));

  // The old connection: welcome, a prefix of the burst in order, then the kick, last.
  const json by{{"ip", "203.0.113.77"},
                {"user_agent", "Relogin"},
                {"at", solod::format_iso8601(relogin.session.login_ts)}};
  check_kicked(old_conn, kick_reason::superseded, by);
  w.await_gone(old_conn); // and has left presence
  w.presence_round_trip();
  auto old_msgs = old_conn.sink->messages();
  REQUIRE(old_msgs.size() >= 2);
  CHECK(recording_sink::is_type(old_msgs.front(), "welcome"));
  std::size_t delivered = 0;
  for (std::size_t i = 1; i + 1 < old_msgs.size(); ++i) {
    const auto& m = old_msgs[i];
    CHECK(recording_sink::is_type(m, "message"));
    CHECK(m.value("from", "") == "alice");
    CHECK(m.value("text", "") == "m" + std::to_string(delivered));
    ++delivered;
  }
  // Every message was delivered while bob was online, or refused as not_online,
  // or handed to the old sink after its close (which the real session drops).
  std::size_t refused = 0;
  for (const auto& m : sender.sink->messages_of("error")) {
    CHECK(m.value("code", "") == "not_online");
    ++refused;
  }
  CHECK(delivered + refused + old_conn.sink->sent_after_close() == burst);
  INFO("sent to the old connection after its close: " << old_conn.sink->sent_after_close());
  CHECK_FALSE(sender.sink->closed());

  // The new connection hears only what is sent after it joined.
  auto new_conn = w.connect_live(relogin);
  REQUIRE(w.round_trip(new_conn));
  CHECK(new_conn.sink->count_of("message") == 0);
  for (int i = 0; i < 10; ++i) {
    sender.send({{"type", "message"}, {"to", "bob"}, {"text", "late" + std::to_string(i)}});
  }
  REQUIRE(w.round_trip(sender));
  w.presence_round_trip();
  REQUIRE(w.round_trip(sender));
  auto late = new_conn.sink->messages_of("message");
  REQUIRE(late.size() == 10);
  for (int i = 0; i < 10; ++i) {
    CHECK(late[static_cast<std::size_t>(i)].value("text", "") == "late" + std::to_string(i));
  }
  CHECK(sender.sink->count_of("error") == refused); // no new not_online
  // The old connection is gone from presence: nothing more reaches its sink.
  auto after_close = old_conn.sink->sent_after_close();
  CHECK(old_conn.sink->messages().size() == old_msgs.size());
  CHECK(old_conn.sink->sent_after_close() == after_close);

  // The server keeps running.
  CHECK(w.user_actors() == 2);
  check_untouched(w, new_conn);
}

// -- bad input ------------------------------------------------------------------

TEST_CASE("every bad input on a live connection is a bad_request and the connection stays",
          "[actors]") {
  connection_world w;
  w.start();
  auto uid = w.add_user("grace");
  auto c = w.connect_live(w.login(uid, "grace"));

  const std::vector<std::pair<const char*, std::string>> inputs{
    {"invalid JSON", R"({"type": "ping")"},
    {"empty text", ""},
    {"a JSON array", R"([{"type":"ping"}])"},
    {"a number", "42"},
    {"null", "null"},
    {"an object without type", R"({"id":1})"},
    {"type not a string", R"({"type":5})"},
    {"type null", R"({"type":null})"},
    {"unknown type", R"({"type":"dance"})"},
    {"message without text", R"({"type":"message","to":"grace"})"},
    {"message with a number text", R"({"type":"message","text":17})"},
    {"message with an object text", R"({"type":"message","text":{"a":1}})"},
    {"message with a number to", R"({"type":"message","text":"hi","to":42})"},
    {"message with an array to", R"({"type":"message","text":"hi","to":["grace"]})"},
    {"subscribe with a wrong topic", R"({"type":"subscribe","topic":"weather"})"},
    {"subscribe without topic", R"({"type":"subscribe"})"},
    {"subscribe with a number topic", R"({"type":"subscribe","topic":1})"},
    {"auth when already authenticated", R"({"type":"auth","token":"whatever"})"},
  };
  for (const auto& [what, text] : inputs) {
    INFO(what << ": " << text);
    const auto before = c.sink->texts().size();
    c.frame(text);
    REQUIRE(w.round_trip(c));
    auto got = messages_since(c, before);
    REQUIRE(got.size() == 2); // the error, then the pong
    CHECK(is_error(got[0], "bad_request"));
    CHECK(recording_sink::is_type(got[1], "pong"));
  }
  CHECK_FALSE(c.sink->closed());
  CHECK(c.sink->count_of("message") == 0);
  CHECK(c.sink->count_of("subscribed") == 0);
}

TEST_CASE("before authentication", "[actors]") {
  connection_world w;
  w.start();
  auto uid = w.add_user("heidi");
  auto out = w.login(uid, "heidi");

  SECTION("a first message other than auth: invalid_token and 4401") {
    auto c = w.connect("", "198.51.100.31");
    c.send({{"type", "ping"}, {"id", 1}});
    REQUIRE(c.sink->wait_closed());
    auto msgs = c.sink->messages();
    REQUIRE(msgs.size() == 1);
    CHECK(is_error(msgs[0], "invalid_token"));
    CHECK(c.sink->closed()->code == 4401);
    REQUIRE(w.flush_audit() == 0);
    CHECK(w.audit_rows_from("ws_auth_failure", "198.51.100.31", "no_auth_message") == 1);
  }

  SECTION("a bad token in auth: invalid_token, 4401 and a ws_auth_failure row each") {
    auto claims = w.claims_for(out.session);
    const std::string payload_segment = [&] {
      auto t = w.token_for(out.session);
      auto dot1 = t.find('.');
      return t.substr(dot1 + 1, t.find('.', dot1 + 1) - dot1 - 1);
    }();
    solod::token_codec stranger("a-different-secret-of-at-least-32-bytes!!");
    auto expired = claims;
    expired.iat -= 7200;
    expired.exp = solod::to_unix_seconds(w.clk.now()) - 60;
    auto unknown_sid = claims;
    unknown_sid.sid = solod::random_hex(16);
    auto other_user = claims;
    other_user.sub = std::to_string(uid + 1000);

    const std::vector<std::pair<const char*, std::string>> tokens{
      // {"alg":"none","typ":"JWT"}, our payload, no signature.
      {"alg none", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload_segment + "."},
      {"wrong signature", stranger.sign(claims)},
      {"expired", w.tokens.sign(expired)},
      {"unknown sid", w.tokens.sign(unknown_sid)},
      {"sid of another user", w.tokens.sign(other_user)},
      {"not a JWT", "garbage"},
      {"empty", ""},
    };
    std::vector<std::string> ips;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const auto& [what, token] = tokens[i];
      INFO(what);
      ips.push_back("198.51.100." + std::to_string(40 + i));
      auto c = w.connect("", ips.back());
      c.send({{"type", "auth"}, {"token", token}});
      REQUIRE(c.sink->wait_closed());
      auto msgs = c.sink->messages();
      REQUIRE(msgs.size() == 1);
      CHECK(is_error(msgs[0], "invalid_token"));
      CHECK(c.sink->closed()->code == 4401);
      CHECK(c.sink->count_of("welcome") == 0);
    }
    REQUIRE(w.flush_audit() == 0);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      INFO(tokens[i].first);
      CHECK(w.audit_rows_from("ws_auth_failure", ips[i], "invalid_token") == 1);
    }
    CHECK(w.stats.ws_auth_failures == tokens.size());
  }

  SECTION("the token of a superseded session is refused") {
    auto stale = w.token_for(out.session);
    auto fresh = w.login(uid, "heidi");
    REQUIRE(fresh.result == login_outcome::status::ok);
    auto c = w.connect("", "198.51.100.60");
    c.send({{"type", "auth"}, {"token", stale}});
    REQUIRE(c.sink->wait_closed());
    CHECK(c.sink->closed()->code == 4401);
    CHECK(c.sink->count_of("welcome") == 0);
  }

  SECTION("auth without a string token: bad_request, and still waiting for auth") {
    auto c = w.connect("");
    c.send({{"type", "auth"}});
    c.send({{"type", "auth"}, {"token", 12345}});
    c.send({{"type", "auth"}, {"token", w.token_for(out.session)}});
    REQUIRE(c.sink->wait_for_type("welcome"));
    auto msgs = c.sink->messages();
    REQUIRE(msgs.size() == 3);
    CHECK(is_error(msgs[0], "bad_request"));
    CHECK(is_error(msgs[1], "bad_request"));
    CHECK(recording_sink::is_type(msgs[2], "welcome"));
    CHECK(w.round_trip(c));
    CHECK_FALSE(c.sink->closed());
  }

  SECTION("a bad token at connect is ignored: the auth message still works") {
    auto c = w.connect("not-a-token");
    CHECK(c.sink->texts().empty());
    c.send({{"type", "auth"}, {"token", w.token_for(out.session)}});
    REQUIRE(c.sink->wait_for_type("welcome"));
    CHECK(w.round_trip(c));
  }

  SECTION("no auth within auth_timeout: kicked unauthorized, 4401, audited") {
    w.cctx.auth_timeout = 200ms;
    auto silent = w.connect("", "198.51.100.70");
    check_kicked(silent, kick_reason::unauthorized);
    CHECK(silent.sink->texts().size() == 1);
    REQUIRE(w.flush_audit() == 0);
    CHECK(w.audit_rows_from("ws_auth_failure", "198.51.100.70", "auth_timeout") == 1);
  }

  SECTION("an authenticated connection outlives auth_timeout") {
    w.cctx.auth_timeout = 200ms;
    auto c = w.connect("", "198.51.100.71");
    c.send({{"type", "auth"}, {"token", w.token_for(out.session)}});
    REQUIRE(c.sink->wait_for_type("welcome"));
    // Not a timing assertion: the timeout has certainly fired by then, and must change nothing.
    std::this_thread::sleep_for(600ms);
    CHECK(w.round_trip(c));
    CHECK_FALSE(c.sink->closed());
    REQUIRE(w.flush_audit() == 0);
    CHECK(w.audit_rows_from("ws_auth_failure", "198.51.100.71") == 0);
  }
}

TEST_CASE("once live, the actor hands pings to the session; a ping that reaches it is still answered",
          "[actors]") {
  // The flood limit is the session's now (net/message_rate_limiter, unit-tested;
  // e2e test_websocket floods the real server).
  connection_world w;
  w.start();
  auto uid = w.add_user("ivan");
  auto c = w.connect_live(w.login(uid, "ivan"));
  CHECK(c.sink->answers_pings());
  c.send({{"type", "ping"}, {"id", 42}});
  REQUIRE(c.sink->wait_for_field("pong", "id", 42));
  CHECK_FALSE(c.sink->closed());
}

TEST_CASE("a connection that is not live yet answers no ping itself", "[actors]") {
  connection_world w;
  w.start();
  auto c = w.connect(""); // no token: waits for an auth message
  c.send({{"type", "ping"}, {"id", 1}});
  REQUIRE(c.sink->wait_closed());
  CHECK(c.sink->closed()->code == 4401);
  CHECK_FALSE(c.sink->answers_pings());
  CHECK(c.sink->count_of("pong") == 0);
}

// -- requests -------------------------------------------------------------------

TEST_CASE("ping echoes its id, whatever its type, and null when absent", "[actors]") {
  connection_world w;
  w.start();
  auto uid = w.add_user("judy");
  auto c = w.connect_live(w.login(uid, "judy"));

  const std::vector<json> ids{7, -1.5, "abc", json{{"k", json::array({1, 2})}}, json::array()};
  for (const auto& id : ids) {
    INFO(id.dump());
    const auto before = c.sink->texts().size();
    c.send({{"type", "ping"}, {"id", id}});
    REQUIRE(c.sink->wait_for_count(before + 1));
    auto pong = messages_since(c, before).front();
    CHECK(recording_sink::is_type(pong, "pong"));
    CHECK(pong["id"] == id);
    CHECK(pong["server_time"].is_string());
  }
  const auto before = c.sink->texts().size();
  c.send({{"type", "ping"}});
  REQUIRE(c.sink->wait_for_count(before + 1));
  auto pong = messages_since(c, before).front();
  CHECK(recording_sink::is_type(pong, "pong"));
  REQUIRE(pong.contains("id"));
  CHECK(pong["id"].is_null());
  REQUIRE(pong["server_time"].is_string());
  CHECK(solod::parse_iso8601(pong["server_time"].get<std::string>()));
}

TEST_CASE("welcome and whoami describe the connection", "[actors]") {
  connection_world w;
  w.start();
  auto uid = w.add_user("mallory");
  auto out = w.login(uid, "mallory");
  auto c = w.connect_live(out, "203.0.113.45", "Mozilla/5.0 (X11)");

  auto welcome = c.sink->messages().front();
  CHECK(welcome["type"] == "welcome");
  CHECK(welcome["user"] == json{{"id", uid}, {"username", "mallory"}});
  CHECK(welcome["session_id"] == out.session.id);
  CHECK(welcome["connection_id"] == c.info.id);
  CHECK(welcome["server_time"].is_string());

  c.send({{"type", "whoami"}});
  REQUIRE(c.sink->wait_for_type("whoami"));
  auto who = c.sink->messages_of("whoami").front();
  CHECK(who == json{{"type", "whoami"},
                    {"user", {{"id", uid}, {"username", "mallory"}}},
                    {"session_id", out.session.id},
                    {"connection_id", c.info.id},
                    {"ip", "203.0.113.45"},
                    {"user_agent", "Mozilla/5.0 (X11)"},
                    {"connected_at", solod::format_iso8601(c.info.connected_at)}});
}

TEST_CASE("online lists the usernames online, sorted", "[actors]") {
  connection_world w;
  w.start();
  std::vector<ws_client> conns;
  std::vector<login_outcome> logins;
  for (const char* name : {"carol", "alice", "bob"}) {
    logins.push_back(w.login(w.add_user(name), name));
    conns.push_back(w.connect_live(logins.back()));
  }
  // A second connection of bob: bob is still listed once.
  conns.push_back(w.connect_live(logins[2]));

  conns[0].send({{"type", "online"}});
  REQUIRE(conns[0].sink->wait_for_type("online"));
  auto online = conns[0].sink->messages_of("online").front();
  CHECK(online == json{{"type", "online"},
                       {"users", json::array({"alice", "bob", "carol"})},
                       {"count", 3}});

  // A closed connection takes its user offline; bob's other connection keeps bob.
  conns[1].disconnect();
  w.await_gone(conns[1]);
  conns[2].disconnect();
  w.await_gone(conns[2]);
  conns[0].send({{"type", "online"}});
  REQUIRE(conns[0].sink->wait_for_type("online", 2));
  online = conns[0].sink->messages_of("online").back();
  CHECK(online["users"] == json::array({"bob", "carol"}));
  CHECK(online["count"] == 2);
}

TEST_CASE("messages reach every connection of their target and nobody else", "[actors]") {
  connection_world w;
  w.start();
  auto alice = w.connect_live(w.login(w.add_user("alice"), "alice"));
  auto bob_out = w.login(w.add_user("bob"), "bob");
  auto bob1 = w.connect_live(bob_out);
  auto bob2 = w.connect_live(bob_out);
  auto carol = w.connect_live(w.login(w.add_user("carol"), "carol"));
  w.add_user("dave"); // exists, never online
  const std::vector<ws_client> everyone{alice, bob1, bob2, carol};

  // Waits until the sender, presence, and the sender again (presence's answers)
  // have handled everything sent so far.
  auto settle = [&] {
    REQUIRE(w.round_trip(alice));
    w.presence_round_trip();
    REQUIRE(w.round_trip(alice));
  };

  SECTION("to a user: each of its connections, once") {
    alice.send({{"type", "message"}, {"to", "bob"}, {"text", "hello bob"}});
    settle();
    for (const auto& c : {bob1, bob2}) {
      auto got = c.sink->messages_of("message");
      REQUIRE(got.size() == 1);
      CHECK(got[0]["from"] == "alice");
      CHECK(got[0]["text"] == "hello bob");
      CHECK(got[0]["at"].is_string());
      CHECK(got[0].size() == 4);
    }
    CHECK(alice.sink->count_of("message") == 0);
    CHECK(carol.sink->count_of("message") == 0);
    CHECK(alice.sink->count_of("error") == 0);
  }

  SECTION("usernames are matched case-insensitively") {
    alice.send({{"type", "message"}, {"to", "BoB"}, {"text", "hi"}});
    settle();
    CHECK(bob1.sink->count_of("message") == 1);
    CHECK(bob2.sink->count_of("message") == 1);
    CHECK(alice.sink->count_of("error") == 0);
  }

  SECTION("to a user who is not online: not_online, to the sender only") {
    alice.send({{"type", "message"}, {"to", "dave"}, {"text", "anyone?"}});
    alice.send({{"type", "message"}, {"to", "nobody-at-all"}, {"text", "anyone?"}});
    settle();
    REQUIRE(alice.sink->wait_for_type("error", 2));
    for (const auto& e : alice.sink->messages_of("error")) {
      CHECK(is_error(e, "not_online"));
    }
    for (const auto& c : everyone) {
      CHECK(c.sink->count_of("message") == 0);
    }
  }

  SECTION("without to, or with to null: everyone online, the sender too") {
    alice.send({{"type", "message"}, {"text", "hi all"}});
    alice.send({{"type", "message"}, {"to", nullptr}, {"text", "again"}});
    settle();
    for (const auto& c : everyone) {
      auto got = c.sink->messages_of("message");
      REQUIRE(got.size() == 2);
      CHECK(got[0]["text"] == "hi all");
      CHECK(got[1]["text"] == "again");
      CHECK(got[0]["from"] == "alice");
    }
    CHECK(alice.sink->count_of("error") == 0);
  }

  SECTION("text is passed through as given, with JSON escaping") {
    const std::string tricky = "quote \" backslash \\ newline \n unicode \xc3\xa9 <script>";
    alice.send({{"type", "message"}, {"to", "carol"}, {"text", tricky}});
    settle();
    auto got = carol.sink->messages_of("message");
    REQUIRE(got.size() == 1);
    CHECK(got[0]["text"] == tricky);
  }
}

// SPEC §4: a message goes to user `to`, or to everyone when `to` is absent.
// An empty `to` names nobody: it is refused, not broadcast.
TEST_CASE("a message to the empty username is not a broadcast", "[actors]") {
  connection_world w;
  w.start();
  auto alice = w.connect_live(w.login(w.add_user("alice"), "alice"));
  auto bob = w.connect_live(w.login(w.add_user("bob"), "bob"));

  alice.send({{"type", "message"}, {"to", ""}, {"text", "to nobody"}});
  REQUIRE(w.round_trip(alice));
  w.presence_round_trip();
  REQUIRE(w.round_trip(alice));
  CHECK(bob.sink->count_of("message") == 0);
  CHECK(alice.sink->count_of("message") == 0);
  auto errors = alice.sink->messages_of("error");
  REQUIRE(errors.size() == 1);
  CHECK((errors[0]["code"] == "not_online" || errors[0]["code"] == "bad_request"));
}

TEST_CASE("subscribe delivers presence changes after subscribed", "[actors]") {
  connection_world w;
  w.start();
  auto watcher = w.connect_live(w.login(w.add_user("watcher"), "watcher"));
  watcher.send({{"type", "subscribe"}, {"topic", "presence"}});
  // Presence confirms once the subscription is in force.
  REQUIRE(watcher.sink->wait_for_type("subscribed"));

  auto out = w.login(w.add_user("newcomer"), "newcomer");
  auto a = w.connect_live(out);
  auto b = w.connect_live(out); // a second connection: no second "online"
  a.disconnect();
  w.await_gone(a);
  w.settle_presence();
  CHECK(watcher.sink->count_of("presence") == 1); // b keeps newcomer online
  b.disconnect();
  w.await_gone(b);
  w.settle_presence();

  // The watcher's own "online", perhaps still pending when it subscribed, is not among them.
  auto msgs = watcher.sink->messages();
  REQUIRE(msgs.size() == 4);
  CHECK(recording_sink::is_type(msgs[0], "welcome"));
  CHECK(msgs[1] == json{{"type", "subscribed"}, {"topic", "presence"}});
  CHECK(msgs[2] == json{{"type", "presence"}, {"user", "newcomer"}, {"status", "online"}, {"count", 2}});
  CHECK(msgs[3] ==
        json{{"type", "presence"}, {"user", "newcomer"}, {"status", "offline"}, {"count", 1}});
  CHECK_FALSE(watcher.sink->aborted());
}
