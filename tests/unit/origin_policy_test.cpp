// Tests for src/net/origin_policy.*: which Origins may open a WebSocket.
#include "net/origin_policy.hpp"

#include <catch2/catch.hpp>

using solod::origin_allowed;

TEST_CASE("without a list, the Origin must be the request's own host", "[origin]") {
  CHECK(origin_allowed("", "127.0.0.1:8443", {}));
  CHECK(origin_allowed("https://127.0.0.1:8443", "127.0.0.1:8443", {}));
  CHECK(origin_allowed("http://Chat.Example.com", "chat.example.com", {}));
  CHECK(origin_allowed("https://chat.example.com/", "chat.example.com", {}));
  CHECK_FALSE(origin_allowed("https://evil.example", "chat.example.com", {}));
  CHECK_FALSE(origin_allowed("https://chat.example.com:444", "chat.example.com", {}));
  CHECK_FALSE(origin_allowed("null", "chat.example.com", {}));
  CHECK_FALSE(origin_allowed("file://", "chat.example.com", {}));
  CHECK_FALSE(origin_allowed("https://chat.example.com/path", "chat.example.com", {}));
}

TEST_CASE("with a list, the Origin must be one of its entries", "[origin]") {
  std::vector<std::string> allowed{"https://app.example.com", "http://localhost:3000/"};
  CHECK(origin_allowed("https://app.example.com", "api.example.com", allowed));
  CHECK(origin_allowed("HTTPS://APP.EXAMPLE.COM", "api.example.com", allowed));
  CHECK(origin_allowed("http://localhost:3000", "api.example.com", allowed));
  CHECK_FALSE(origin_allowed("http://app.example.com", "api.example.com", allowed));
  CHECK_FALSE(origin_allowed("https://evil.example", "api.example.com", allowed));
  CHECK_FALSE(origin_allowed("null", "api.example.com", allowed));
}

TEST_CASE("the server's own origin is allowed even with a list", "[origin]") {
  // Its pages `/` and `/admin` POST with their own origin; a list of other
  // origins (a separate front-end) must not lock them out.
  std::vector<std::string> allowed{"https://app.example.com"};
  CHECK(origin_allowed("https://api.example.com", "api.example.com", allowed));
  CHECK(origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", allowed));
  CHECK(origin_allowed("HTTP://API.Example.com/", "api.example.com", allowed));
  CHECK_FALSE(origin_allowed("https://api.example.com:444", "api.example.com", allowed));
  CHECK_FALSE(origin_allowed("https://api.example.com.evil", "api.example.com", allowed));
  CHECK_FALSE(origin_allowed("https://api.example.com/x", "api.example.com", allowed));
}
