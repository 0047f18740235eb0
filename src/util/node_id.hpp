#pragma once
/// @brief The identity of this process among the nodes sharing one database.

#include <string>

namespace solod {

/// A random id chosen once per process (16 hex characters). News carries its
/// origin's id, so a node can skip the news it sent itself.
const std::string& this_node_id();

} // namespace solod
