// libFuzzer target: the Engine.IO and Socket.IO parsers of /socket.io/
// (src/protocol/engineio_packet.*, socketio_packet.*), on one long-polling
// body as a client would POST it, and the translation of outbound texts.
// Invariants: nothing crashes, leaks or recurses deeply; every packet that
// parses re-encodes into one that parses to the same payload.
#include "protocol/engineio_packet.hpp"
#include "protocol/socketio_packet.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace solod;

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

void socketio_packet(std::string_view text) {
  auto r = parse_sio_packet(text);
  check(r.packet.has_value() != !r.error.empty());
  if (!r.packet) {
    return;
  }
  const auto& p = *r.packet;
  if (p.type == sio_type::event) {
    auto name = p.data[0].get<std::string>();
    nlohmann::json payload = p.data.size() > 1 ? p.data[1] : nlohmann::json();
    auto again = parse_sio_packet(encode_sio_event(name, payload));
    check(again.packet.has_value());
    check(again.packet->data[0] == p.data[0]);
    if (!payload.is_null()) {
      check(again.packet->data.size() == 2 && again.packet->data[1] == payload);
    }
  } else if (p.type == sio_type::ack && p.ack_id && !p.data.empty()) {
    auto again = parse_sio_packet(encode_sio_ack(*p.ack_id, p.data[0]));
    check(again.packet.has_value() && again.packet->ack_id == p.ack_id);
    check(again.packet->data[0] == p.data[0]);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto packet : split_eio_payload(body)) {
    auto r = parse_eio_packet(packet);
    if (r.packet && r.packet->type == eio_type::message) {
      socketio_packet(r.packet->data);
    }
  }
  // The same bytes as an outbound text (the translation parses /ws JSON).
  for (const auto& out : socketio_packets_of(body)) {
    check(!out.empty());
  }
  return 0;
}
