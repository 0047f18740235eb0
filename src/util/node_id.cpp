#include "util/node_id.hpp"

#include "util/random.hpp"

namespace solod {

const std::string& this_node_id() {
  static const std::string id = random_hex(8);
  return id;
}

} // namespace solod
