// Tests for src/net/socketio_outbound.*: one translation per outbound text.

#include "net/socketio_outbound.hpp"

#include <catch2/catch.hpp>

using namespace solod;

TEST_CASE("socketio_outbound: a presence text becomes user_status and user_count", "[socketio]") {
  auto text = make_ws_text(R"({"type":"presence","user":"ann","status":"online","count":3})");
  auto packets = socketio_outbound(text);
  REQUIRE(packets->size() == 2);
  CHECK((*packets)[0] == R"(42["user_status",{"status":"online","user":"ann"}])");
  CHECK((*packets)[1] == R"(42["user_count",{"count":3}])");
}

TEST_CASE("socketio_outbound: the same text is translated once for every socket", "[socketio]") {
  auto text = make_ws_text(R"({"type":"message","from":"ann","text":"hi","at":"t"})");
  auto first = socketio_outbound(text);
  auto second = socketio_outbound(text);
  CHECK(first.get() == second.get());
  // Equal content in another text is its own translation, with equal packets.
  auto twin = make_ws_text(*text);
  auto third = socketio_outbound(twin);
  CHECK(third.get() != first.get());
  CHECK(*third == *first);
}

TEST_CASE("socketio_outbound: a text freed and another at its address is not confused",
          "[socketio]") {
  const std::string* where = nullptr;
  {
    auto gone = make_ws_text(R"({"type":"kicked","reason":"admin"})");
    where = gone.get();
    CHECK(socketio_outbound(gone)->at(0) == R"(42["kicked",{"reason":"admin"}])");
  }
  // Whatever lands at the old address now, its own words come out.
  for (int i = 0; i < 64; ++i) {
    auto fresh = make_ws_text(R"({"type":"kicked","reason":"logout"})");
    CHECK(socketio_outbound(fresh)->at(0) == R"(42["kicked",{"reason":"logout"}])");
    if (fresh.get() == where) {
      break;
    }
  }
}
