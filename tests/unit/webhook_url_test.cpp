// Tests for parse_webhook_url and webhook_backoff (src/net/webhook_client, src/app/webhook_worker).
#include "app/webhook_worker.hpp"
#include "net/webhook_client.hpp"

#include <catch2/catch.hpp>

using solod::parse_webhook_url;

TEST_CASE("webhook URLs: scheme, host, port and target", "[webhooks]") {
  auto t = parse_webhook_url("https://hooks.example.com/solod?x=1#frag");
  REQUIRE(t);
  CHECK(t->tls);
  CHECK(t->host == "hooks.example.com");
  CHECK(t->port == "443");
  CHECK(t->target == "/solod?x=1");
  t = parse_webhook_url("http://127.0.0.1:9000");
  REQUIRE(t);
  CHECK_FALSE(t->tls);
  CHECK(t->port == "9000");
  CHECK(t->target == "/");
  t = parse_webhook_url("http://[::1]:8080/h");
  REQUIRE(t);
  CHECK(t->host == "::1");
  CHECK(t->port == "8080");
  for (const char* bad : {"ftp://x/", "http://", "http://:80/", "http://user:pw@host/", "http://host:0/",
                          "http://host:65536/", "http://host:8x/", "http://[::1/", "http://[::1]x/", "//host/"}) {
    INFO(bad);
    CHECK_FALSE(parse_webhook_url(bad));
  }
}

TEST_CASE("webhook retries back off up to every 4 hours", "[webhooks]") {
  using namespace std::chrono;
  CHECK(solod::webhook_backoff(1) == seconds{1});
  CHECK(solod::webhook_backoff(2) == seconds{5});
  CHECK(solod::webhook_backoff(8) == hours{2});
  CHECK(solod::webhook_backoff(9) == hours{4});
  CHECK(solod::webhook_backoff(1000) == hours{4});
  // A day of retries takes about a dozen attempts, not thousands.
  milliseconds total{0};
  int attempts = 0;
  while (total < hours{24}) {
    total += solod::webhook_backoff(++attempts);
  }
  CHECK(attempts < 15);
}
