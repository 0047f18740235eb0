#pragma once
/// @brief A server's resident memory, read from /proc: the process and every descendant.

#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace bench {

/// VmRSS of `pid` plus every process below it, in bytes (peers may run a
/// worker under a shell); nothing when `pid` does not exist.
std::optional<std::uint64_t> tree_rss_bytes(pid_t pid);

} // namespace bench
