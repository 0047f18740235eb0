// Tests for src/protocol/engineio_packet.*: Engine.IO 4 packets and long-polling payloads.
#include "protocol/engineio_packet.hpp"

#include <catch2/catch.hpp>

using namespace solod;

TEST_CASE("Engine.IO packets parse by their type digit", "[engineio]") {
  auto r = parse_eio_packet("4hello");
  REQUIRE(r.packet);
  CHECK(r.packet->type == eio_type::message);
  CHECK(r.packet->data == "hello");

  r = parse_eio_packet("2probe");
  REQUIRE(r.packet);
  CHECK(r.packet->type == eio_type::ping);
  CHECK(r.packet->data == "probe");

  r = parse_eio_packet("3");
  REQUIRE(r.packet);
  CHECK(r.packet->type == eio_type::pong);
  CHECK(r.packet->data.empty());

  for (char c = '0'; c <= '6'; ++c) {
    CHECK(parse_eio_packet(std::string(1, c)).packet);
  }
}

TEST_CASE("hostile Engine.IO packets are refused with a reason", "[engineio]") {
  for (std::string bad : {std::string(""), std::string("7"), std::string("x4"), std::string("\x1e"),
                          std::string("-1"), std::string("\0" "4", 2), std::string("\xff\xfe")}) {
    auto r = parse_eio_packet(bad);
    CHECK_FALSE(r.packet);
    CHECK_FALSE(r.error.empty());
  }
  auto binary = parse_eio_packet("bAQID");
  CHECK_FALSE(binary.packet);
  CHECK(binary.error == "binary packets are not supported");
}

TEST_CASE("a long-polling body splits at 0x1e and joins back", "[engineio]") {
  auto parts = split_eio_payload("4hello\x1e" "2\x1e" "4world");
  REQUIRE(parts.size() == 3);
  CHECK(parts[0] == "4hello");
  CHECK(parts[1] == "2");
  CHECK(parts[2] == "4world");
  CHECK(split_eio_payload("").empty());

  auto empties = split_eio_payload("\x1e\x1e");
  REQUIRE(empties.size() == 3);
  for (auto p : empties) {
    CHECK_FALSE(parse_eio_packet(p).packet); // an empty packet is refused, not skipped silently
  }

  CHECK(join_eio_payload({"4a", "3", "4b"}) == "4a\x1e" "3\x1e" "4b");
  CHECK(join_eio_payload({}).empty());
  CHECK(encode_eio(eio_type::open, "{}") == "0{}");
  CHECK(encode_eio(eio_type::noop) == "6");
}
