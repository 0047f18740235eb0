// Tests for src/protocol/socketio_packet.*: Socket.IO 5 packets, and /ws messages as Socket.IO events.
#include "protocol/socketio_packet.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace solod;
using json = nlohmann::json;

TEST_CASE("Socket.IO packets parse: type, namespace, ack id, payload", "[socketio]") {
  auto r = parse_sio_packet(R"(2["message",{"text":"hi"}])");
  REQUIRE(r.packet);
  CHECK(r.packet->type == sio_type::event);
  CHECK(r.packet->nsp == "/");
  CHECK_FALSE(r.packet->ack_id);
  CHECK(r.packet->data[0] == "message");
  CHECK(r.packet->data[1]["text"] == "hi");

  r = parse_sio_packet(R"(212["get_online_users"])");
  REQUIRE(r.packet);
  REQUIRE(r.packet->ack_id);
  CHECK(*r.packet->ack_id == 12);

  r = parse_sio_packet(R"(2/admin,7["x"])");
  REQUIRE(r.packet);
  CHECK(r.packet->nsp == "/admin");
  CHECK(*r.packet->ack_id == 7);

  r = parse_sio_packet(R"(0{"token":"abc"})");
  REQUIRE(r.packet);
  CHECK(r.packet->type == sio_type::connect);
  CHECK(r.packet->data["token"] == "abc");

  r = parse_sio_packet("0");
  REQUIRE(r.packet);
  CHECK_FALSE(r.packet->has_data);

  r = parse_sio_packet("1");
  REQUIRE(r.packet);
  CHECK(r.packet->type == sio_type::disconnect);

  r = parse_sio_packet(R"(35[{"a":1}])");
  REQUIRE(r.packet);
  CHECK(r.packet->type == sio_type::ack);
  CHECK(*r.packet->ack_id == 5);
}

TEST_CASE("binary packets parse so that they can be refused by name", "[socketio]") {
  auto r = parse_sio_packet(R"(51-["upload",{"_placeholder":true,"num":0}])");
  REQUIRE(r.packet);
  CHECK(r.packet->type == sio_type::binary_event);
  r = parse_sio_packet(R"(61-3[{"_placeholder":true,"num":0}])");
  REQUIRE(r.packet);
  CHECK(r.packet->type == sio_type::binary_ack);
  CHECK(*r.packet->ack_id == 3);
  CHECK_FALSE(parse_sio_packet(R"(5["x"])").packet);      // no attachment count
  CHECK_FALSE(parse_sio_packet(R"(5abc-["x"])").packet);  // not a count
  CHECK_FALSE(parse_sio_packet(R"(51234567-["x"])").packet); // absurd count
}

TEST_CASE("hostile Socket.IO packets are refused with a reason", "[socketio]") {
  const std::string deep = "2" + std::string(100, '[') + std::string(100, ']');
  const std::string very_deep = "2[\"x\"," + std::string(200000, '[') + "]";
  const std::string deep_in_string = R"(2["x",")" + std::string(100, '[') + R"("])";
  struct bad_case {
    std::string text;
    std::string why;
  };
  for (const auto& c : std::vector<bad_case>{
         {"", "empty"},
         {"9", "not a Socket.IO packet"},
         {"x", "not a Socket.IO packet"},
         {"2", "EVENT data"},
         {"2{}", "EVENT data"},
         {"2[]", "EVENT data"},
         {"2[1,2]", "EVENT data"},
         {"2[null]", "EVENT data"},
         {R"(2"text")", "EVENT data"},
         {"2[\"x\"", "malformed JSON"},
         {"2[\"x\"]trailing", "malformed JSON"},
         {"2[\"x\",1e999999]", "malformed JSON"},
         {"2[\"x\",\"\xff\"]", "malformed JSON"},
         {"21234567890123456[\"x\"]", "ack id too large"},
         {"2/" + std::string(500, 'a') + ",[\"x\"]", "namespace name too long"},
         {deep, "nested deeper"},
         {very_deep, "nested deeper"},
         {"0[1]", "CONNECT data"},
         {"0\"tok\"", "CONNECT data"},
         {"1{}", "DISCONNECT"},
         {"3{}", "ACK data"},
         {"3", "ACK data"},
       }) {
    INFO(c.text.substr(0, 60));
    auto r = parse_sio_packet(c.text);
    CHECK_FALSE(r.packet);
    CHECK(r.error.find(c.why) != std::string::npos);
  }
  // Brackets inside strings are not nesting.
  auto r = parse_sio_packet(deep_in_string);
  REQUIRE(r.packet);
  CHECK(r.packet->data[1].get<std::string>().size() == 100);
}

TEST_CASE("huge numbers and odd types inside a well-formed event are data, not crashes", "[socketio]") {
  auto r = parse_sio_packet(R"(2["message",{"text":123456789012345678901234567890,"to":[1,{"a":null}]}])");
  REQUIRE(r.packet);
  CHECK(r.packet->data[1]["text"].is_number());
  r = parse_sio_packet(R"(2999999999999999["x"])"); // 15 digits: the largest ack id taken
  REQUIRE(r.packet);
  CHECK(*r.packet->ack_id == 999999999999999ULL);
}

TEST_CASE("Socket.IO packets encode as socket.io-client expects", "[socketio]") {
  CHECK(encode_sio_event("pong_manual", json{{"server_time", "t"}}) == R"(2["pong_manual",{"server_time":"t"}])");
  CHECK(encode_sio_event("x", nullptr) == R"(2["x"])");
  CHECK(encode_sio_ack(4, json{{"count", 1}}) == R"(34[{"count":1}])");
  CHECK(encode_sio_connect("abc") == R"(0{"sid":"abc"})");
  CHECK(encode_sio_connect_error("/", "Invalid token!") == R"(4{"message":"Invalid token!"})");
  CHECK(encode_sio_connect_error("/admin", "Invalid namespace") ==
        R"(4/admin,{"message":"Invalid namespace"})");
  CHECK(encode_sio_connect_error("/", "m", json{{"reason", "r"}}) == R"(4{"data":{"reason":"r"},"message":"m"})");
  CHECK(encode_sio_disconnect() == "1");
  // Invalid UTF-8 in a payload is replaced, never thrown on.
  CHECK_NOTHROW(encode_sio_event("message", json{{"text", std::string("\xff")}}));
  // Every encoded packet parses back (the joiner never appears raw in JSON).
  auto text = encode_sio_event("message", json{{"text", std::string("a\x1e" "b")}});
  CHECK(text.find('\x1e') == std::string::npos);
  auto back = parse_sio_packet(text);
  REQUIRE(back.packet);
  CHECK(back.packet->data[1]["text"] == "a\x1e" "b");
}

TEST_CASE("/ws messages become Socket.IO events for Socket.IO clients", "[socketio]") {
  auto p = socketio_packets_of(R"({"type":"presence","user":"bob","status":"online","count":2})");
  REQUIRE(p.size() == 2);
  CHECK(p[0] == R"(2["user_status",{"status":"online","user":"bob"}])");
  CHECK(p[1] == R"(2["user_count",{"count":2}])");

  p = socketio_packets_of(R"({"type":"message","from":"a","text":"hi","at":"t"})");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == R"(2["message",{"at":"t","from":"a","text":"hi"}])");

  p = socketio_packets_of(R"({"type":"kicked","reason":"server_error"})");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == R"(2["kicked",{"reason":"server_error"}])");

  CHECK(socketio_packets_of(R"({"type":"subscribed","topic":"presence"})").empty());
  CHECK(socketio_packets_of("{not json").empty());
  CHECK(socketio_packets_of(R"({"no_type":1})").empty());

  // Socket.IO text passes through, split at the joiner.
  p = socketio_packets_of("2[\"kicked\",{}]\x1e" "1");
  REQUIRE(p.size() == 2);
  CHECK(p[0] == R"(2["kicked",{}])");
  CHECK(p[1] == "1");
  CHECK(socketio_packets_of("").empty());
}
