#include "actors/messages.hpp"

namespace solod {

const char* to_string(end_reason r) {
  switch (r) {
    case end_reason::superseded:
      return "superseded";
    case end_reason::logout:
      return "logout";
    case end_reason::admin:
      return "admin";
    case end_reason::expired:
      return "expired";
  }
  return "unknown";
}

const char* to_string(kick_reason r) {
  switch (r) {
    case kick_reason::superseded:
      return "superseded";
    case kick_reason::logout:
      return "logout";
    case kick_reason::admin:
      return "admin";
    case kick_reason::expired:
      return "expired";
    case kick_reason::unauthorized:
      return "unauthorized";
    case kick_reason::too_many_connections:
      return "too_many_connections";
    case kick_reason::server_error:
      return "server_error";
  }
  return "unknown";
}

std::uint16_t close_code_of(kick_reason r) {
  switch (r) {
    case kick_reason::superseded:
      return 4001;
    case kick_reason::logout:
      return 4002;
    case kick_reason::admin:
      return 4003;
    case kick_reason::expired:
      return 4004;
    case kick_reason::unauthorized:
      return 4401;
    case kick_reason::too_many_connections:
      return 4429;
    case kick_reason::server_error:
      return 1011; // RFC 6455 "internal error"
  }
  return 4401;
}

kick_reason kick_reason_of(end_reason r) {
  switch (r) {
    case end_reason::superseded:
      return kick_reason::superseded;
    case end_reason::logout:
      return kick_reason::logout;
    case end_reason::admin:
      return kick_reason::admin;
    case end_reason::expired:
      return kick_reason::expired;
  }
  return kick_reason::unauthorized;
}

} // namespace solod
