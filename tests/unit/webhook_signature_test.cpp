// Tests for src/auth/webhook_signature.*: the Standard Webhooks test vector, secrets.
#include "auth/webhook_signature.hpp"

#include <catch2/catch.hpp>

using solod::decode_webhook_secret;
using solod::sign_webhook;

TEST_CASE("webhook signatures match the Standard Webhooks test vector", "[webhooks]") {
  // The example of the Standard Webhooks specification (and its reference libraries).
  const auto key = decode_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(key);
  CHECK(sign_webhook(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  CHECK(sign_webhook(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, R"({"test": 2432232314})") !=
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("webhook secrets are whsec_ and base64 of 24 to 64 bytes", "[webhooks]") {
  CHECK(decode_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")->size() == 24);
  CHECK_FALSE(decode_webhook_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));        // no prefix
  CHECK_FALSE(decode_webhook_secret("whsec_"));                                   // empty
  CHECK_FALSE(decode_webhook_secret("whsec_c2hvcnQ="));                           // 5 bytes
  CHECK_FALSE(decode_webhook_secret("whsec_!!!!MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")); // not base64
  CHECK_FALSE(decode_webhook_secret(std::string("whsec_") + std::string(100, 'A'))); // 75 bytes
}
