/// @brief Fuzz target: WebSocket text messages through a real connection actor,
/// attached to the real user actors, presence and audit over SQLite.
///
/// Input: the first byte picks how the socket authenticates (0: a valid token
/// at the handshake, 1: none, so the first message must be `auth`, 2: a
/// garbage token); the rest is split at '\n' into text frames. `@USER@` and
/// `@ADMIN@` become live tokens. Frames that are not valid UTF-8 are dropped,
/// as Beast refuses them before the actor sees them.

#include "actors/messages.hpp"
#include "actors/ws_sink.hpp"
#include "support/fuzz_world.hpp"
#include "util/utf8.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "ws_dispatch: %s\n", why.c_str());
  std::abort();
}

/// Checks what the actor sends: every message one JSON object with a type,
/// at most one close, with a code a WebSocket may carry.
class checking_sink final : public solod::ws_sink {
public:
  void send(solod::ws_text text) override { check(*text); }
  void send_batch(std::shared_ptr<const std::vector<solod::ws_text>> texts) override {
    for (const auto& t : *texts) {
      check(*t);
    }
  }
  void close(solod::ws_text last, std::uint16_t code, std::string reason) override {
    std::lock_guard lock(mu_);
    if (last) {
      check_locked(*last);
    }
    if (code < 1000 || code >= 5000 || code == 1005 || code == 1006 || code == 1015) {
      fail("close with code " + std::to_string(code));
    }
    if (reason.size() > 123) {
      fail("close reason longer than a control frame allows: " + reason);
    }
    ++closes_;
  }
  void abort() override {}
  void go_live(solod::ws_text welcome) override { check(*welcome); }

private:
  void check(const std::string& text) {
    std::lock_guard lock(mu_);
    check_locked(text);
  }
  void check_locked(const std::string& text) {
    auto msg = nlohmann::json::parse(text, nullptr, false);
    if (msg.is_discarded() || !msg.is_object() || !msg.contains("type")) {
      fail("outbound message is not a typed JSON object: " + text);
    }
  }

  std::mutex mu_;
  int closes_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  auto& world = fuzz::fuzz_world::instance();
  world.refresh_sessions();
  std::string token;
  switch (data[0] % 3) {
    case 0: token = world.user.token; break;
    case 1: break;
    default: token = "garbage." + std::to_string(data[0]) + ".token"; break;
  }
  auto rest = world.with_tokens(std::string(reinterpret_cast<const char*>(data + 1), size - 1));

  auto sink = std::make_shared<checking_sink>();
  auto actor = world.connect(sink, token);
  std::size_t frames = 0;
  std::string_view text = rest;
  while (!text.empty() && frames < 64) {
    auto end = text.find('\n');
    auto frame = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!solod::is_valid_utf8(frame)) {
      continue;
    }
    caf::anon_send(actor, solod::frame_atom::value, std::string(frame));
    ++frames;
  }
  caf::anon_send(actor, solod::closed_atom::value);
  world.await_down(actor, std::chrono::seconds{20});
  return 0;
}
