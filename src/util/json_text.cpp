#include "util/json_text.hpp"

#include <nlohmann/json.hpp>

namespace solod {

std::string to_json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace solod
