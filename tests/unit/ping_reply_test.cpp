// Tests for src/net/ping_reply.*: the pong the network thread builds for a ping.

#include "actors/ping_reply.hpp"

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
