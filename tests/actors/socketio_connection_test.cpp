// Tests for the Socket.IO codec of src/actors/connection_actor.*: a connection
// actor fed Socket.IO packets (as the Engine.IO session hands them over) and
// answering in Socket.IO packets, over a recording sink.
#include "support/connection_world.hpp"

#include "protocol/socketio_packet.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using nlohmann::json;
using solod::kick_reason;
using test_support::connection_world;
using test_support::ws_client;

namespace {

/// A connection actor speaking Socket.IO; `token` as from the cookie (may be empty).
ws_client sio_connect(connection_world& w, std::string token = "") {
  ws_client c;
  c.sink = std::make_shared<test_support::recording_sink>();
  c.info = solod::connection_info{solod::random_hex(16), "198.51.100.30", "sio-test-agent",
                                  w.cctx.clk->now()};
  c.info.protocol = solod::wire_protocol::socketio;
  c.info.transport = "websocket";
  c.actor = solod::spawn_connection_actor(*w.sys, &w.cctx, c.info, c.sink, std::move(token));
  w.spawned.push_back(c.actor);
  return c;
}

/// Every Socket.IO packet the client got so far, in order.
std::vector<std::string> packets(const ws_client& c) {
  std::vector<std::string> out;
  for (const auto& t : c.sink->texts()) {
    for (auto& p : solod::socketio_packets_of(t)) {
      out.push_back(std::move(p));
    }
  }
  return out;
}

/// Waits until a packet starting with `prefix` has come; returns it.
std::string wait_packet(const ws_client& c, const std::string& prefix) {
  std::string found;
  c.sink->wait_until([&](const std::vector<std::string>& texts, const auto&) {
    for (const auto& t : texts) {
      for (auto& p : solod::socketio_packets_of(t)) {
        if (p.rfind(prefix, 0) == 0) {
          found = p;
          return true;
        }
      }
    }
    return false;
  });
  return found;
}

/// The payload of event packet `p` (`2["name",payload]`).
json payload_of(const std::string& p) {
  auto r = solod::parse_sio_packet(p);
  REQUIRE(r.packet);
  return r.packet->data.size() > 1 ? r.packet->data[1] : json();
}

} // namespace

TEST_CASE("Socket.IO: CONNECT with auth joins, events and acks are answered", "[actors][socketio]") {
  connection_world w;
  w.cctx.max_connections_per_session = 3;
  w.start();
  auto uid = w.add_user("sio_ann");
  auto out = w.login(uid, "sio_ann");
  auto c = sio_connect(w);
  c.frame(R"(0{"token":")" + w.token_for(out.session) + R"("})");
  CHECK(wait_packet(c, "0") == R"(0{"sid":")" + c.info.id + R"("})");

  c.frame(R"(27["get_online_users"])");
  auto ack = wait_packet(c, "37");
  CHECK(ack == R"(37[{"count":1,"users":["sio_ann"]}])");
  CHECK_FALSE(wait_packet(c, R"(2["online_users")").empty());

  c.frame(R"(2["check_connections"])");
  CHECK(payload_of(wait_packet(c, R"(2["connection_slots")")) == json{{"used", 1}, {"max", 3}});

  c.frame(R"(29["debug_connection"])");
  auto info = payload_of(wait_packet(c, R"(2["debug_info")"));
  CHECK(info["sid"] == c.info.id);
  CHECK(info["transport"] == "websocket");
  CHECK(info["session_id"] == out.session.id);

  // Bad input: an error event, and the connection stays.
  for (std::string bad : {"garbage", "2", R"(2[1])", "2[\"x\"", R"(51-["up",{"_placeholder":true,"num":0}])",
                          R"(2["nope"])"}) {
    c.frame(bad);
  }
  CHECK(c.sink->wait_until([](const std::vector<std::string>& texts, const auto&) {
    std::size_t errors = 0;
    for (const auto& t : texts) {
      errors += t.rfind(R"(2["error")", 0) == 0;
    }
    return errors >= 6;
  }));
  CHECK_FALSE(c.sink->closed());
  CHECK_FALSE(wait_packet(c, R"(2["error",{"code":"binary_unsupported")").empty());
}

TEST_CASE("Socket.IO: a bad CONNECT token gets CONNECT_ERROR, register_user's a disconnect",
          "[actors][socketio]") {
  connection_world w;
  w.start();
  auto c = sio_connect(w);
  c.frame(R"(0{"token":"not-a-token"})");
  CHECK(wait_packet(c, "4") == R"(4{"message":"Invalid token!"})");
  CHECK_FALSE(c.sink->closed());

  auto d = sio_connect(w);
  d.frame("0");
  CHECK(wait_packet(d, "0") == R"(0{"sid":")" + d.info.id + R"("})");
  d.frame(R"(24["get_online_users"])");
  CHECK(payload_of(wait_packet(d, R"(2["error")"))["code"] == "unauthorized");
  d.frame(R"(25["register_user",{"token":"garbage"}])");
  REQUIRE(d.sink->wait_closed());
  auto p = packets(d);
  REQUIRE(p.size() >= 3);
  CHECK(p[p.size() - 3] == R"(2["response",{"message":"Invalid token!"}])");
  CHECK(p[p.size() - 2] == R"(35[{"message":"Invalid token!"}])");
  CHECK(p.back() == "1");

  auto e = sio_connect(w);
  e.frame(R"(0/admin,{"token":"x"})");
  CHECK(wait_packet(e, "4") == R"(4/admin,{"message":"Invalid namespace"})");
}

TEST_CASE("Socket.IO: register_user authenticates, and a new login kicks with reason, by and DISCONNECT",
          "[actors][socketio]") {
  connection_world w;
  w.start();
  auto uid = w.add_user("sio_bob");
  auto out = w.login(uid, "sio_bob");
  auto c = sio_connect(w);
  c.frame("0");
  wait_packet(c, "0");
  c.frame(R"(2["register_user",{"token":")" + w.token_for(out.session) + R"(","username":"SIO_BOB"}])");
  auto reg = payload_of(wait_packet(c, R"(2["response")"));
  CHECK(reg["message"] == "registered");
  CHECK(reg["session_id"] == out.session.id);
  CHECK(reg["user"]["username"] == "sio_bob");

  w.login(uid, "sio_bob", "203.0.113.9", "second-device");
  REQUIRE(c.sink->wait_closed());
  auto p = packets(c);
  REQUIRE(p.size() >= 2);
  CHECK(p.back() == "1");
  auto kicked = payload_of(p[p.size() - 2]);
  CHECK(kicked["reason"] == "superseded");
  CHECK(kicked["by"]["ip"] == "203.0.113.9");
  CHECK(kicked["by"]["user_agent"] == "second-device");
  CHECK(c.sink->closed()->code == solod::close_code_of(kick_reason::superseded));
}

TEST_CASE("Socket.IO: a joined socket that never sends register_user is disconnected",
          "[actors][socketio]") {
  connection_world w;
  w.start();
  w.cctx.auth_timeout = std::chrono::milliseconds{300};
  auto joined = sio_connect(w);
  joined.frame("0");
  REQUIRE(joined.sink->wait_closed());
  auto p = packets(joined);
  REQUIRE(p.size() == 3);
  CHECK(p[0] == R"(0{"sid":")" + joined.info.id + R"("})");
  CHECK(p[1] == R"(2["kicked",{"reason":"unauthorized"}])");
  CHECK(p[2] == "1");
  CHECK(joined.sink->closed()->code == solod::close_code_of(kick_reason::unauthorized));

  // Never even a CONNECT: a CONNECT_ERROR, then the close.
  auto silent = sio_connect(w);
  REQUIRE(silent.sink->wait_closed());
  CHECK(packets(silent) == std::vector<std::string>{
                             R"(4{"data":{"reason":"unauthorized"},"message":"Invalid token!"})"});
}
