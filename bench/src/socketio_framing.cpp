#include "socketio_framing.hpp"

namespace bench::socketio {

namespace {

/// The first JSON string of an array text such as `["name",{...}]`.
std::string_view first_string(std::string_view array) {
  auto open = array.find('"');
  if (array.empty() || array.front() != '[' || open == std::string_view::npos) {
    return {};
  }
  // Event names from peers never contain escaped quotes; stop at the first quote.
  auto close = array.find('"', open + 1);
  if (close == std::string_view::npos) {
    return {};
  }
  return array.substr(open + 1, close - open - 1);
}

} // namespace

packet decode(std::string_view frame) {
  packet p;
  if (frame.empty() || frame[0] < '0' || frame[0] > '6') {
    return p;
  }
  p.engine = static_cast<engine_type>(frame[0] - '0');
  if (p.engine != engine_type::message) {
    p.data = frame.substr(1);
    return p;
  }
  std::string_view rest = frame.substr(1);
  if (rest.empty() || rest[0] < '0' || rest[0] > '6') {
    p.engine = engine_type::invalid;
    return p;
  }
  p.type = static_cast<packet_type>(rest[0] - '0');
  rest.remove_prefix(1);
  if (p.type == packet_type::binary_event || p.type == packet_type::binary_ack) {
    auto dash = rest.find('-');
    rest.remove_prefix(dash == std::string_view::npos ? rest.size() : dash + 1);
  }
  if (!rest.empty() && rest[0] == '/') {
    auto comma = rest.find(',');
    p.nsp = rest.substr(0, comma);
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
  }
  while (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') {
    rest.remove_prefix(1); // ack id
  }
  p.data = rest;
  if (p.type == packet_type::event || p.type == packet_type::binary_event) {
    p.event = first_string(rest);
  }
  return p;
}

std::string connect_packet(std::string_view auth_json) {
  std::string out = "40";
  out += auth_json;
  return out;
}

std::string event_packet(std::string_view name, std::string_view data_json) {
  std::string out;
  out.reserve(8 + name.size() + data_json.size());
  out += "42[\"";
  out += name;
  out += "\",";
  out += data_json;
  out += ']';
  return out;
}

} // namespace bench::socketio
