// Tests for src/actors/ping_reply.*: the pongs the network thread builds for a
// /ws `ping` and a Socket.IO `ping_manual`.

#include "actors/ping_reply.hpp"

#include "protocol/socketio_packet.hpp"
#include "util/time_format.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using nlohmann::json;

TEST_CASE("pong_for_frame echoes the ping's id, whatever its type, and null when absent") {
  const auto now = std::chrono::system_clock::now();
  const std::vector<json> ids{7, -1.5, "abc", json{{"k", json::array({1, 2})}}, json::array()};
  for (const auto& id : ids) {
    INFO(id.dump());
    auto pong = solod::pong_for_frame(json{{"type", "ping"}, {"id", id}}.dump(), now);
    REQUIRE(pong);
    auto m = json::parse(*pong);
    CHECK(m["type"] == "pong");
    CHECK(m["id"] == id);
    CHECK(m["server_time"] == solod::format_iso8601(now));
  }
  auto bare = solod::pong_for_frame(R"({"type":"ping"})", now);
  REQUIRE(bare);
  CHECK(json::parse(*bare)["id"].is_null());
}

TEST_CASE("pong_for_frame leaves every other frame to the connection actor") {
  const auto now = std::chrono::system_clock::now();
  for (const std::string frame : {R"({"type":"whoami"})", R"({"type":"message","text":"ping"})",
                                  R"({"type":"message","text":"\"ping\""})", R"({"type": "ping")",
                                  R"([{"type":"ping"}])", R"("ping")", R"({"type":["ping"]})",
                                  R"({"kind":"ping"})", ""}) {
    INFO(frame);
    CHECK_FALSE(solod::pong_for_frame(frame, now));
  }
}

TEST_CASE("pong_manual_for_packet answers ping_manual as the connection actor would") {
  const auto now = std::chrono::system_clock::now();
  const json payload{{"server_time", solod::format_iso8601(now)}};

  auto plain = solod::pong_manual_for_packet(R"(2["ping_manual"])", now);
  REQUIRE(plain);
  CHECK(*plain == solod::encode_sio_event("pong_manual", payload));

  // With an ack id (and any argument): the event, then the ACK with the same payload.
  auto acked = solod::pong_manual_for_packet(R"(217["ping_manual",{"x":1}])", now);
  REQUIRE(acked);
  CHECK(*acked == solod::encode_sio_event("pong_manual", payload) + solod::sio_joiner +
                    solod::encode_sio_ack(17, payload));
  const auto packets = solod::socketio_packets_of(*acked);
  REQUIRE(packets.size() == 2);
  CHECK(packets[1].rfind("317[", 0) == 0);
}

TEST_CASE("pong_manual_for_packet leaves every other packet to the connection actor") {
  const auto now = std::chrono::system_clock::now();
  for (const std::string packet :
       {R"(2["message",{"text":"ping_manual"}])", R"(2["message","\"ping_manual\""])",
        R"(2/admin,["ping_manual"])", R"(3["ping_manual"])", R"(0{"token":"ping_manual"})",
        R"(2["ping_manual")", R"(2"ping_manual")", R"(2[["ping_manual"]])",
        R"(51-["ping_manual",{"num":0}])", "2", ""}) {
    INFO(packet);
    CHECK_FALSE(solod::pong_manual_for_packet(packet, now));
  }
}
