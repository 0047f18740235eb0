#include "actors/ping_reply.hpp"

#include "protocol/socketio_packet.hpp"
#include "util/time_format.hpp"

#include <nlohmann/json.hpp>

namespace solod {

namespace {

/// format_iso8601(now), formatted once per millisecond per thread: a busy
/// network thread answers many pings within one.
const std::string& server_time(time_point now) {
  thread_local std::chrono::sys_time<std::chrono::milliseconds> last{};
  thread_local std::string text = format_iso8601(last);
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(now);
  if (ms != last) {
    last = ms;
    text = format_iso8601(ms);
  }
  return text;
}

} // namespace

std::string pong_text(const nlohmann::json& id, time_point now) {
  // Written out rather than built as a JSON object: this is the hot path of
  // a busy server, and the shape never changes.
  std::string out = R"({"type":"pong","id":)";
  out += id.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += R"(,"server_time":")";
  out += server_time(now);
  out += "\"}";
  return out;
}

std::optional<std::string> pong_for_frame(const std::string& frame, time_point now) {
  // Most frames are not pings: skip the parse for them.
  if (frame.find("\"ping\"") == std::string::npos) {
    return std::nullopt;
  }
  auto msg = nlohmann::json::parse(frame, nullptr, false);
  if (!msg.is_object()) {
    return std::nullopt;
  }
  auto type = msg.find("type");
  if (type == msg.end() || !type->is_string() || *type != "ping") {
    return std::nullopt;
  }
  auto id = msg.find("id");
  return pong_text(id == msg.end() ? nlohmann::json() : *id, now);
}

std::optional<std::string> pong_manual_for_packet(std::string_view packet, time_point now) {
  if (packet.empty() || packet.front() != '2' || packet.find("\"ping_manual\"") == std::string_view::npos) {
    return std::nullopt;
  }
  auto parsed = parse_sio_packet(packet);
  if (!parsed.packet || parsed.packet->type != sio_type::event || parsed.packet->nsp != "/" ||
      parsed.packet->data.at(0) != "ping_manual") {
    return std::nullopt;
  }
  const nlohmann::json payload{{"server_time", server_time(now)}};
  std::string out = encode_sio_event("pong_manual", payload);
  if (parsed.packet->ack_id) {
    out += sio_joiner;
    out += encode_sio_ack(*parsed.packet->ack_id, payload);
  }
  return out;
}

} // namespace solod
