#include "protocol.hpp"

#include "options.hpp"
#include "socketio_framing.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>

namespace bench {

namespace {

/// The string value of `"key":"..."` in `text` (no escapes), or "".
std::string_view string_field(std::string_view text, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":\"";
  auto at = text.find(needle);
  if (at == std::string_view::npos) {
    return {};
  }
  auto start = at + needle.size();
  auto end = text.find('"', start);
  return end == std::string_view::npos ? std::string_view{} : text.substr(start, end - start);
}

/// The integer value of `"id":N` in `text`, or -1.
long long id_field(std::string_view text) {
  constexpr std::string_view needle = "\"id\":";
  auto at = text.find(needle);
  if (at == std::string_view::npos) {
    return -1;
  }
  auto start = at + needle.size();
  long long v = 0;
  bool any = false;
  for (auto i = start; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    v = v * 10 + (text[i] - '0');
    any = true;
  }
  return any ? v : -1;
}

inbound by_name(std::string_view name, std::string_view body) {
  inbound m;
  if (name == "pong" || name == "pong_manual") {
    m.kind = inbound_kind::pong;
    m.id = id_field(body);
  } else if (name == "presence") {
    m.kind = inbound_kind::presence;
    m.online = string_field(body, "status") == "online";
  } else if (name == "welcome") {
    m.kind = inbound_kind::welcome;
  } else if (name == "kicked") {
    m.kind = inbound_kind::kicked;
  } else if (name == "subscribed") {
    m.kind = inbound_kind::subscribed;
  } else if (name == "error") {
    m.kind = inbound_kind::error;
  }
  return m;
}

/// solod: JSON text frames with a "type" (SPEC §4).
class solod_protocol final : public protocol {
public:
  std::string_view name() const override { return "solod"; }
  std::string_view ws_target() const override { return "/ws"; }
  bool bearer_at_upgrade() const override { return true; }
  std::string auth_message(const std::string&) const override { return {}; }

  std::string ping(long long id) const override {
    return "{\"type\":\"ping\",\"id\":" + std::to_string(id) + "}";
  }

  std::string subscribe_presence() const override {
    return R"({"type":"subscribe","topic":"presence"})";
  }

  inbound classify(std::string_view frame) const override {
    return by_name(string_field(frame, "type"), frame);
  }
};

/// The peers: Socket.IO v5 over Engine.IO v4, WebSocket transport only.
class socketio_protocol final : public protocol {
public:
  std::string_view name() const override { return "socketio"; }
  std::string_view ws_target() const override { return "/socket.io/?EIO=4&transport=websocket"; }
  bool bearer_at_upgrade() const override { return false; }

  std::string auth_message(const std::string& token) const override {
    return socketio::connect_packet(nlohmann::json{{"token", token}}.dump());
  }

  /// The Flask clients' application ping (SPEC §8), which every Socket.IO
  /// server here answers: the peers and solod's /socket.io/.
  std::string ping(long long id) const override {
    return socketio::event_packet("ping_manual", "{\"id\":" + std::to_string(id) + "}");
  }

  std::string subscribe_presence() const override {
    return socketio::event_packet("subscribe", R"({"topic":"presence"})");
  }

  inbound classify(std::string_view frame) const override {
    auto p = socketio::decode(frame);
    inbound m;
    switch (p.engine) {
      case socketio::engine_type::open: m.kind = inbound_kind::open; return m;
      case socketio::engine_type::ping: m.kind = inbound_kind::engine_ping; return m;
      case socketio::engine_type::close: m.kind = inbound_kind::disconnect; return m;
      case socketio::engine_type::message: break;
      default: return m;
    }
    switch (p.type) {
      case socketio::packet_type::connect: m.kind = inbound_kind::connected; return m;
      case socketio::packet_type::connect_error: m.kind = inbound_kind::connect_error; return m;
      case socketio::packet_type::disconnect: m.kind = inbound_kind::disconnect; return m;
      case socketio::packet_type::event:
      case socketio::packet_type::binary_event: return by_name(p.event, p.data);
      default: return m;
    }
  }
};

} // namespace

const protocol& protocol_named(std::string_view name) {
  static const solod_protocol solod;
  static const socketio_protocol socketio;
  if (name == "solod") {
    return solod;
  }
  if (name == "socketio") {
    return socketio;
  }
  throw usage_error("--proto must be solod or socketio, not '" + std::string(name) + "'");
}

} // namespace bench
