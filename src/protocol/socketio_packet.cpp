#include "protocol/socketio_packet.hpp"

namespace solod {

namespace {

using json = nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// True when the arrays and objects of `text` nest no deeper than `max`
/// (brackets inside strings do not count). Checked before parsing, so that
/// a hostile packet cannot make the parser or the destructor recurse deeply.
bool nesting_within(std::string_view text, std::size_t max) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) {
        return false;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

sio_parse_result fail(std::string why) {
  return {std::nullopt, std::move(why)};
}

/// Checks that `p`'s payload has the shape its type needs.
std::string shape_error(const sio_packet& p) {
  switch (p.type) {
    case sio_type::connect:
      return !p.has_data || p.data.is_object() ? "" : "CONNECT data must be an object";
    case sio_type::disconnect:
      return p.has_data ? "DISCONNECT carries no data" : "";
    case sio_type::event:
      if (!p.has_data || !p.data.is_array() || p.data.empty() || !p.data[0].is_string()) {
        return "EVENT data must be an array starting with the event name";
      }
      return "";
    case sio_type::ack:
      return p.has_data && p.data.is_array() ? "" : "ACK data must be an array";
    case sio_type::connect_error:
      return p.has_data && (p.data.is_object() || p.data.is_string())
               ? ""
               : "CONNECT_ERROR data must be an object";
    case sio_type::binary_event:
    case sio_type::binary_ack:
      return "";
  }
  return "unknown packet type";
}

} // namespace

sio_parse_result parse_sio_packet(std::string_view text) {
  if (text.empty()) {
    return fail("empty Socket.IO packet");
  }
  if (text.front() < '0' || text.front() > '6') {
    return fail("not a Socket.IO packet (no type digit 0-6)");
  }
  sio_packet p;
  p.type = static_cast<sio_type>(text.front() - '0');
  std::size_t i = 1;
  const bool binary = p.type == sio_type::binary_event || p.type == sio_type::binary_ack;
  if (binary) {
    // The attachment count and its '-': read past, the packet is refused anyway.
    auto dash = text.find('-', i);
    if (dash == std::string_view::npos || dash == i || dash - i > 6) {
      return fail("binary packet without its attachment count");
    }
    for (auto k = i; k < dash; ++k) {
      if (text[k] < '0' || text[k] > '9') {
        return fail("binary packet without its attachment count");
      }
    }
    i = dash + 1;
  }
  if (i < text.size() && text[i] == '/') {
    auto comma = text.find(',', i);
    auto end = comma == std::string_view::npos ? text.size() : comma;
    if (end - i > sio_max_namespace) {
      return fail("namespace name too long");
    }
    p.nsp = std::string(text.substr(i, end - i));
    i = comma == std::string_view::npos ? text.size() : comma + 1;
  }
  std::size_t digits = 0;
  std::uint64_t id = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (++digits > sio_max_ack_digits) {
      return fail("ack id too large");
    }
    id = id * 10 + static_cast<std::uint64_t>(text[i] - '0');
    ++i;
  }
  if (digits > 0) {
    p.ack_id = id;
  }
  auto rest = text.substr(i);
  if (binary) {
    return {std::move(p), ""}; // the caller refuses it by its type
  }
  if (!rest.empty()) {
    if (!nesting_within(rest, sio_max_nesting)) {
      return fail("JSON nested deeper than " + std::to_string(sio_max_nesting));
    }
    p.data = json::parse(rest.begin(), rest.end(), nullptr, false);
    if (p.data.is_discarded()) {
      return fail("malformed JSON payload");
    }
    p.has_data = true;
  }
  if (auto why = shape_error(p); !why.empty()) {
    return fail(why);
  }
  return {std::move(p), ""};
}

std::string encode_sio_event(std::string_view name, const nlohmann::json& payload) {
  json arr = json::array({std::string(name)});
  if (!payload.is_null()) {
    arr.push_back(payload);
  }
  return "2" + dump(arr);
}

std::string encode_sio_ack(std::uint64_t id, const nlohmann::json& payload) {
  return "3" + std::to_string(id) + dump(json::array({payload}));
}

std::string encode_sio_connect(std::string_view sid) {
  return "0" + dump(json{{"sid", std::string(sid)}});
}

std::string encode_sio_connect_error(std::string_view nsp, std::string_view message,
                                     const nlohmann::json& data) {
  json body{{"message", std::string(message)}};
  if (!data.is_null()) {
    body["data"] = data;
  }
  std::string out = "4";
  if (!nsp.empty() && nsp != "/") {
    out += nsp;
    out += ',';
  }
  return out + dump(body);
}

std::string encode_sio_disconnect() {
  return "1";
}

namespace {

/// One `/ws` JSON message as Socket.IO events.
std::vector<std::string> translate_ws(std::string_view text) {
  if (!nesting_within(text, sio_max_nesting)) {
    return {};
  }
  auto msg = json::parse(text.begin(), text.end(), nullptr, false);
  if (msg.is_discarded() || !msg.is_object()) {
    return {};
  }
  auto type_it = msg.find("type");
  if (type_it == msg.end() || !type_it->is_string()) {
    return {};
  }
  const auto type = type_it->get<std::string>();
  msg.erase("type");
  if (type == "presence") {
    return {encode_sio_event("user_status", json{{"user", msg.value("user", json())},
                                                 {"status", msg.value("status", json())}}),
            encode_sio_event("user_count", json{{"count", msg.value("count", json())}})};
  }
  if (type == "subscribed") {
    return {};
  }
  // message {from,text,at}, kicked {reason,by?}, error {code,message}, and
  // anything else: the event of that name with the other fields.
  return {encode_sio_event(type, msg)};
}

} // namespace

std::vector<std::string> socketio_packets_of(std::string_view text) {
  if (!text.empty() && text.front() == '{') {
    return translate_ws(text);
  }
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(sio_joiner, start);
    auto part = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!part.empty()) {
      out.emplace_back(part);
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return out;
}

} // namespace solod
