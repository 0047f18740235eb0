// Tests for src/net/http_message.*: header lookup over repeated lines, and
// header values as solod keeps them from the wire.
#include "net/http_message.hpp"

#include <catch2/catch.hpp>

using solod::http_request;
using solod::safe_header_value;

TEST_CASE("header_list joins every line of a header, in order", "[http]") {
  http_request req;
  req.headers = {{"X-Forwarded-For", "6.6.6.6"}, {"Host", "x"},
                 {"x-forwarded-for", "198.51.100.7, 10.0.0.1"}, {"X-Forwarded-For", "10.0.0.2"}};
  CHECK(req.header("X-Forwarded-For") == "6.6.6.6");
  CHECK(req.header_list("X-Forwarded-For") == "6.6.6.6, 198.51.100.7, 10.0.0.1, 10.0.0.2");
  CHECK(req.header_list("Host") == "x");
  CHECK(req.header_list("Absent").empty());
}

TEST_CASE("header values are valid UTF-8, the User-Agent at most 512 bytes", "[http]") {
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(safe_header_value("Accept", "a\xFF" "b") == "a" + fffd + "b");
  CHECK(safe_header_value("X-Note", std::string("nul\0x", 5)) == "nul" + fffd + "x");
  const std::string split = std::string(511, 'a') + "\xC3\xA9" + "tail";
  CHECK(safe_header_value("User-Agent", split) == std::string(511, 'a'));
  CHECK(safe_header_value("user-agent", split) == std::string(511, 'a'));
  // Other headers are not cut (the 8 KiB header limit bounds them).
  CHECK(safe_header_value("Cookie", split) == split);
}
